// A licence's claims as a person reads them: the wallet has each claim's name and its coded
// values' names in both languages (the server's `labels`); a verifier of any licence has only
// the claim names, shown as written.
import { both, type ClaimLabel } from "./services";

export type Labels = Record<string, ClaimLabel>;

export function claimName(claim: string, labels: Labels = {}): string {
  const label = labels[claim];
  return label ? both(label.name, label.name_zh) : claim.replace(/_/g, " ");
}

export function claimValue(claim: string, value: unknown, labels: Labels = {}): string {
  if (value === null || value === undefined) return "—";
  if (Array.isArray(value)) return value.map((item) => claimValue(claim, item, labels)).join(", ");
  if (typeof value === "object") return JSON.stringify(value);
  const named = labels[claim]?.values[String(value)];
  return named ? both(named.name, named.name_zh) : String(value);
}
