import { useState, type FormEvent } from "react";

import { Code, codeOf, describeError } from "../../api/client";
import { api, type SignedOutReason } from "../api";
import { askNotificationsOnce } from "../inbox";
import { Button, Field, inputClass, Notice } from "../components";

const LAST_TENANT = "frontdesk.admin.tenant";

export function LoginPage({ reason }: { reason: SignedOutReason | null }) {
  const [tenant, setTenant] = useState(() => localStorage.getItem(LAST_TENANT) ?? "");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!tenant.trim() || !email.trim() || !password) {
      setError("Enter the organisation, your email and your password.");
      return;
    }
    setBusy(true);
    setError(undefined);
    askNotificationsOnce(); // in the click itself: browsers ask only from a user's gesture
    try {
      await api.login(tenant.trim(), email.trim(), password);
      localStorage.setItem(LAST_TENANT, tenant.trim());
    } catch (err) {
      // the gateway answers an unknown tenant, email or password alike; so do we
      setError(codeOf(err) === Code.Unauthenticated
        ? "Sign-in failed: the organisation, email or password is not correct."
        : describeError(err, "operator"));
      setPassword("");
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="flex min-h-screen items-center justify-center p-4">
      <form onSubmit={submit} className="w-full max-w-sm space-y-4 rounded-lg border border-slate-200 bg-white p-6 shadow-sm"
            aria-labelledby="login-title">
        <div>
          <h1 id="login-title" className="text-xl font-semibold">frontdesk admin</h1>
          <p className="text-sm text-slate-500">Sign in as an operator of your organisation.</p>
        </div>
        {reason && !error && <Notice tone={reason.kind === "expired" ? "warning" : "info"}>{reason.message}</Notice>}
        {error && <div role="alert" className="rounded-md border border-red-200 bg-red-50 p-3 text-sm text-red-800">{error}</div>}
        <Field label="Organisation" hint="Its short name, e.g. demo">
          <input name="tenant" className={inputClass} value={tenant} onChange={(e) => setTenant(e.target.value)}
                 autoComplete="organization" required />
        </Field>
        <Field label="Email">
          <input name="email" type="email" className={inputClass} value={email} onChange={(e) => setEmail(e.target.value)}
                 autoComplete="username" required />
        </Field>
        <Field label="Password">
          <input name="password" type="password" className={inputClass} value={password}
                 onChange={(e) => setPassword(e.target.value)} autoComplete="current-password" required />
        </Field>
        <Button type="submit" variant="primary" className="w-full" disabled={busy}>{busy ? "Signing in…" : "Sign in"}</Button>
      </form>
    </main>
  );
}
