import { h, replaceChildren } from "../dom";
import { signIn } from "../session";
import { errorBox, notice } from "../ui";

/**
 * Sign-in: paste an operator token (minted with the operator key: `npm run cli -- operator token`
 * locally), or open the sign-in link `npm start` prints, which carries one in its fragment.
 */
export function signInScreen(root: HTMLElement, why: string | undefined, done: () => void): void {
  const input = h("textarea", {
    name: "token",
    rows: 5,
    required: true,
    placeholder: "eyJhbGciOi…",
    "aria-label": "Operator token",
  });
  const status = h("div", { class: "status" });
  const form = h(
    "form",
    { class: "sign-in", "aria-label": "Sign in" },
    h("h1", {}, "Sign in"),
    why ? notice(why) : null,
    h("p", {}, "Paste an operator token (a JWT signed with an operator key). It stays in this tab only."),
    h(
      "p",
      { class: "hint" },
      "Locally, `npm start` prints a sign-in link with a short-lived token; `npm run cli -- operator token` mints another.",
    ),
    input,
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Sign in")),
    status,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const result = signIn(input.value);
    if (typeof result === "string") replaceChildren(status, errorBox(new Error(result)));
    else done();
  });
  replaceChildren(root, h("main", { id: "screen", "data-screen": "sign-in" }, form));
}
