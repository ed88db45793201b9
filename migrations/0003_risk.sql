-- Risk rules (operator-api.md "Risk rules", partner-api.md §6): the rule set, the bucketed counters
-- the rules are evaluated against inside each request's own batch, the deny guard, the risk event log.

-- The whole rule set, as the operator PUT it (validated JSON array, in order). One row: a request
-- reads it in the same round trip as its other context.
CREATE TABLE risk_rule_set (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  version INTEGER NOT NULL,
  rules TEXT NOT NULL,
  updated_at INTEGER,
  updated_by TEXT
);
INSERT INTO risk_rule_set (id, version, rules) VALUES (1, 0, '[]');

-- The deny guard: a batch inserts the position (0..99) of the first deny rule that tripped, which
-- fails the CHECK named after that position and rolls the whole batch back (like `guard`).
CREATE TABLE risk_guard (
  slot INTEGER NOT NULL,
  CONSTRAINT risk_rule_0 CHECK (slot <> 0),
  CONSTRAINT risk_rule_1 CHECK (slot <> 1),
  CONSTRAINT risk_rule_2 CHECK (slot <> 2),
  CONSTRAINT risk_rule_3 CHECK (slot <> 3),
  CONSTRAINT risk_rule_4 CHECK (slot <> 4),
  CONSTRAINT risk_rule_5 CHECK (slot <> 5),
  CONSTRAINT risk_rule_6 CHECK (slot <> 6),
  CONSTRAINT risk_rule_7 CHECK (slot <> 7),
  CONSTRAINT risk_rule_8 CHECK (slot <> 8),
  CONSTRAINT risk_rule_9 CHECK (slot <> 9),
  CONSTRAINT risk_rule_10 CHECK (slot <> 10),
  CONSTRAINT risk_rule_11 CHECK (slot <> 11),
  CONSTRAINT risk_rule_12 CHECK (slot <> 12),
  CONSTRAINT risk_rule_13 CHECK (slot <> 13),
  CONSTRAINT risk_rule_14 CHECK (slot <> 14),
  CONSTRAINT risk_rule_15 CHECK (slot <> 15),
  CONSTRAINT risk_rule_16 CHECK (slot <> 16),
  CONSTRAINT risk_rule_17 CHECK (slot <> 17),
  CONSTRAINT risk_rule_18 CHECK (slot <> 18),
  CONSTRAINT risk_rule_19 CHECK (slot <> 19),
  CONSTRAINT risk_rule_20 CHECK (slot <> 20),
  CONSTRAINT risk_rule_21 CHECK (slot <> 21),
  CONSTRAINT risk_rule_22 CHECK (slot <> 22),
  CONSTRAINT risk_rule_23 CHECK (slot <> 23),
  CONSTRAINT risk_rule_24 CHECK (slot <> 24),
  CONSTRAINT risk_rule_25 CHECK (slot <> 25),
  CONSTRAINT risk_rule_26 CHECK (slot <> 26),
  CONSTRAINT risk_rule_27 CHECK (slot <> 27),
  CONSTRAINT risk_rule_28 CHECK (slot <> 28),
  CONSTRAINT risk_rule_29 CHECK (slot <> 29),
  CONSTRAINT risk_rule_30 CHECK (slot <> 30),
  CONSTRAINT risk_rule_31 CHECK (slot <> 31),
  CONSTRAINT risk_rule_32 CHECK (slot <> 32),
  CONSTRAINT risk_rule_33 CHECK (slot <> 33),
  CONSTRAINT risk_rule_34 CHECK (slot <> 34),
  CONSTRAINT risk_rule_35 CHECK (slot <> 35),
  CONSTRAINT risk_rule_36 CHECK (slot <> 36),
  CONSTRAINT risk_rule_37 CHECK (slot <> 37),
  CONSTRAINT risk_rule_38 CHECK (slot <> 38),
  CONSTRAINT risk_rule_39 CHECK (slot <> 39),
  CONSTRAINT risk_rule_40 CHECK (slot <> 40),
  CONSTRAINT risk_rule_41 CHECK (slot <> 41),
  CONSTRAINT risk_rule_42 CHECK (slot <> 42),
  CONSTRAINT risk_rule_43 CHECK (slot <> 43),
  CONSTRAINT risk_rule_44 CHECK (slot <> 44),
  CONSTRAINT risk_rule_45 CHECK (slot <> 45),
  CONSTRAINT risk_rule_46 CHECK (slot <> 46),
  CONSTRAINT risk_rule_47 CHECK (slot <> 47),
  CONSTRAINT risk_rule_48 CHECK (slot <> 48),
  CONSTRAINT risk_rule_49 CHECK (slot <> 49),
  CONSTRAINT risk_rule_50 CHECK (slot <> 50),
  CONSTRAINT risk_rule_51 CHECK (slot <> 51),
  CONSTRAINT risk_rule_52 CHECK (slot <> 52),
  CONSTRAINT risk_rule_53 CHECK (slot <> 53),
  CONSTRAINT risk_rule_54 CHECK (slot <> 54),
  CONSTRAINT risk_rule_55 CHECK (slot <> 55),
  CONSTRAINT risk_rule_56 CHECK (slot <> 56),
  CONSTRAINT risk_rule_57 CHECK (slot <> 57),
  CONSTRAINT risk_rule_58 CHECK (slot <> 58),
  CONSTRAINT risk_rule_59 CHECK (slot <> 59),
  CONSTRAINT risk_rule_60 CHECK (slot <> 60),
  CONSTRAINT risk_rule_61 CHECK (slot <> 61),
  CONSTRAINT risk_rule_62 CHECK (slot <> 62),
  CONSTRAINT risk_rule_63 CHECK (slot <> 63),
  CONSTRAINT risk_rule_64 CHECK (slot <> 64),
  CONSTRAINT risk_rule_65 CHECK (slot <> 65),
  CONSTRAINT risk_rule_66 CHECK (slot <> 66),
  CONSTRAINT risk_rule_67 CHECK (slot <> 67),
  CONSTRAINT risk_rule_68 CHECK (slot <> 68),
  CONSTRAINT risk_rule_69 CHECK (slot <> 69),
  CONSTRAINT risk_rule_70 CHECK (slot <> 70),
  CONSTRAINT risk_rule_71 CHECK (slot <> 71),
  CONSTRAINT risk_rule_72 CHECK (slot <> 72),
  CONSTRAINT risk_rule_73 CHECK (slot <> 73),
  CONSTRAINT risk_rule_74 CHECK (slot <> 74),
  CONSTRAINT risk_rule_75 CHECK (slot <> 75),
  CONSTRAINT risk_rule_76 CHECK (slot <> 76),
  CONSTRAINT risk_rule_77 CHECK (slot <> 77),
  CONSTRAINT risk_rule_78 CHECK (slot <> 78),
  CONSTRAINT risk_rule_79 CHECK (slot <> 79),
  CONSTRAINT risk_rule_80 CHECK (slot <> 80),
  CONSTRAINT risk_rule_81 CHECK (slot <> 81),
  CONSTRAINT risk_rule_82 CHECK (slot <> 82),
  CONSTRAINT risk_rule_83 CHECK (slot <> 83),
  CONSTRAINT risk_rule_84 CHECK (slot <> 84),
  CONSTRAINT risk_rule_85 CHECK (slot <> 85),
  CONSTRAINT risk_rule_86 CHECK (slot <> 86),
  CONSTRAINT risk_rule_87 CHECK (slot <> 87),
  CONSTRAINT risk_rule_88 CHECK (slot <> 88),
  CONSTRAINT risk_rule_89 CHECK (slot <> 89),
  CONSTRAINT risk_rule_90 CHECK (slot <> 90),
  CONSTRAINT risk_rule_91 CHECK (slot <> 91),
  CONSTRAINT risk_rule_92 CHECK (slot <> 92),
  CONSTRAINT risk_rule_93 CHECK (slot <> 93),
  CONSTRAINT risk_rule_94 CHECK (slot <> 94),
  CONSTRAINT risk_rule_95 CHECK (slot <> 95),
  CONSTRAINT risk_rule_96 CHECK (slot <> 96),
  CONSTRAINT risk_rule_97 CHECK (slot <> 97),
  CONSTRAINT risk_rule_98 CHECK (slot <> 98),
  CONSTRAINT risk_rule_99 CHECK (slot <> 99),
  CONSTRAINT risk_rule_unknown CHECK (slot BETWEEN 0 AND 99)
);

-- Sliding-window counters in fixed buckets (src/risk/window.ts). `counter` names what is counted
-- (kind, partner scope, subject kind, bucket size, member-age condition: rules that count the same
-- events share it), `subject` for whom (member id, device id, IP or IPv6 /64), `bucket` =
-- floor(time / bucket size). `members`: distinct members first counted in this bucket.
CREATE TABLE risk_counters (
  counter TEXT NOT NULL,
  subject TEXT NOT NULL,
  bucket INTEGER NOT NULL,
  count INTEGER NOT NULL,
  points INTEGER NOT NULL,
  members INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,     -- from then on the bucket is in no window (pruned by a job)
  PRIMARY KEY (counter, subject, bucket)
) WITHOUT ROWID;
CREATE INDEX risk_counters_expiry ON risk_counters (expires_at);

-- Distinct members per device/IP: each member sits in the bucket of its latest touch.
CREATE TABLE risk_members (
  counter TEXT NOT NULL,
  subject TEXT NOT NULL,
  member_id TEXT NOT NULL,
  bucket INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (counter, subject, member_id)
) WITHOUT ROWID;
CREATE INDEX risk_members_expiry ON risk_members (expires_at);

-- Declines (written with the stored 422) and transactions sent to review (written in their batch).
CREATE TABLE risk_events (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  rule_id TEXT NOT NULL,
  action TEXT NOT NULL CHECK (action IN ('deny', 'review')),
  applies_to TEXT NOT NULL CHECK (applies_to IN ('earn', 'burn', 'enroll')),
  partner_id TEXT NOT NULL,
  member_id TEXT,
  member_ref TEXT,
  transaction_id TEXT,             -- a review's transaction; a decline has none
  points INTEGER,
  ip TEXT NOT NULL,                -- normalised (IPv4-mapped IPv6 as IPv4)
  device_id TEXT,
  request_id TEXT
);
CREATE INDEX risk_events_rule ON risk_events (rule_id, id);
CREATE INDEX risk_events_partner ON risk_events (partner_id, id);
CREATE INDEX risk_events_member ON risk_events (member_id, id) WHERE member_id IS NOT NULL;

-- The operator's review queue, oldest first, and the 7-day timeout.
CREATE INDEX transactions_in_review ON transactions (booked_at, seq) WHERE status = 'review';
