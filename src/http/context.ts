import type { Admission } from "../auth/admission";
import type { Env } from "../env";
import type { ApiError } from "./errors";

/** What the partner-signature middleware establishes about the caller. */
export interface PartnerPrincipal {
  id: string;
  kid: string;
  /** The `idk` claim, equal to the `Idempotency-Key` header when present. */
  idempotencyKey: string | undefined;
}

/** What the operator-token middleware establishes about the caller. */
export interface OperatorPrincipal {
  sub: string;
  scopes: ReadonlySet<string>;
}

export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    /** Raw request body bytes, read once (signatures and idempotency hash them). */
    rawBody: Uint8Array;
    /** Why the JSON body was refused, when it was (./json-body.ts). */
    bodyError?: ApiError;
    partner: PartnerPrincipal;
    /** A signed request's database checks, until a batch carried them (src/auth/admission.ts). */
    admission?: Admission & { done: boolean };
    operator: OperatorPrincipal;
    /** A member request's session token, as its hash (src/auth/member-session.ts). */
    memberSession?: { hash: string; bucket: number };
    /** The origins the member session's partner allows, once its batch read them (CORS). */
    memberOrigins?: readonly string[];
    /** The server clock for this request, in ms; one reading per request. */
    now: number;
  };
}
