import { whenSignedOut } from "./api";
import { h, replaceChildren, time } from "./dom";
import { auditScreen } from "./screens/audit";
import { memberScreen, membersScreen } from "./screens/members";
import { overviewScreen } from "./screens/overview";
import { partnerScreen } from "./screens/partner";
import { partnersScreen } from "./screens/partners";
import { reportScreen } from "./screens/report";
import { riskScreen } from "./screens/risk";
import { settlementScreen } from "./screens/settlement";
import { signInScreen } from "./screens/sign-in";
import { canWrite, restore, session, signOut } from "./session";

/**
 * The operator console: a hash-routed client app (#/overview, #/partners/<id>, …) over the
 * operator API. Every screen is a function of the route that fetches what it shows.
 */

const NAV: [string, string][] = [
  ["overview", "Overview"],
  ["partners", "Partners"],
  ["risk", "Risk"],
  ["settlement", "Settlement"],
  ["members", "Members"],
  ["audit", "Audit"],
];

type Screen = (root: HTMLElement, ...params: string[]) => Promise<void>;

const ROUTES: Record<string, Screen> = {
  overview: overviewScreen,
  partners: (root, id) => (id ? partnerScreen(root, id) : partnersScreen(root)),
  risk: riskScreen,
  settlement: (root, id) => (id ? reportScreen(root, id) : settlementScreen(root)),
  members: (root, id) => (id ? memberScreen(root, id) : membersScreen(root)),
  audit: auditScreen,
};

const app = () => document.getElementById("app")!;
let signedOutWhy: string | undefined;

function header(): HTMLElement {
  const s = session()!;
  const current = location.hash.replace(/^#\/?/, "").split("/")[0] || "overview";
  return h(
    "header",
    {},
    h("strong", { class: "brand" }, "Coalition operator console"),
    h(
      "nav",
      { "aria-label": "Screens" },
      ...NAV.map(([route, label]) => h("a", { href: `#/${route}`, "aria-current": route === current ? "page" : null }, label)),
    ),
    h(
      "div",
      { class: "who", "data-scope": s.scopes.join(" ") },
      h("span", {}, s.sub),
      h("span", { class: canWrite() ? "scope" : "scope read-only" }, canWrite() ? "admin" : "read only"),
      h("span", { class: "expires" }, "until ", time(new Date(s.exp * 1000).toISOString().replace(/\.\d{3}Z$/, "Z"))),
      h(
        "button",
        {
          type: "button",
          onclick: () => {
            signOut();
            signedOutWhy = "Signed out.";
            render();
          },
        },
        "Sign out",
      ),
    ),
  );
}

let expiryTimer: number | undefined;

export function render(): void {
  window.clearTimeout(expiryTimer);
  const s = session();
  if (!s) {
    signInScreen(app(), signedOutWhy, () => {
      signedOutWhy = undefined;
      if (location.hash.startsWith("#/")) render();
      else location.hash = "#/overview"; // hashchange renders
    });
    return;
  }
  // Sign out when the token expires, not at the next click.
  expiryTimer = window.setTimeout(
    () => {
      signOut();
      signedOutWhy = "Your token expired; sign in again.";
      render();
    },
    Math.max(0, s.exp * 1000 - Date.now()),
  );
  const [route = "overview", ...params] = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  const main = h("main", { id: "screen", "data-screen": route });
  replaceChildren(app(), header(), main);
  void (ROUTES[route] ?? ROUTES.overview!)(main, ...params);
}

whenSignedOut((why) => {
  // A request still running when the tab signed out keeps the sign-in screen's first notice.
  if (document.querySelector("form.sign-in")) return;
  signedOutWhy = why;
  render();
});
window.addEventListener("hashchange", () => {
  // A sign-in link opened in a tab already on the console changes only the fragment.
  if (/[#&]token=/.test(location.hash)) signedOutWhy = restore();
  render();
});
signedOutWhy = restore();
render();
