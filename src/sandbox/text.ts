// Realistic issue text: summaries per issue type and Atlassian Document Format descriptions
// and comments. Plain functions of a Rng, so the same seed always gives the same text.

import type { Rng } from "./random.js";
import { T_BUG, T_EPIC, T_STORY, T_SUBTASK } from "./catalog.js";

const SUBJECTS = [
  "Checkout page", "Login form", "CSV export", "Search results", "Notification emails", "Billing webhook",
  "Password reset", "Invoice PDF", "Dashboard widgets", "Mobile sign-up", "Audit log", "API rate limiter",
  "SSO callback", "Sprint board", "File uploader", "Timezone picker", "Payment retry job", "Report builder",
  "Settings page", "Onboarding checklist", "GraphQL gateway", "Session cookie", "Image thumbnails", "Access tokens",
];
const PROBLEMS = [
  "returns 500", "times out", "shows stale data", "is slow", "crashes", "renders blank", "double-charges",
  "loses unsaved changes", "ignores the locale", "drops the last row", "leaks memory", "logs secrets",
  "shows the wrong currency", "rejects valid input", "sends duplicate messages",
];
const CONDITIONS = [
  "when the cart is empty", "after a password change", "on Safari 17", "for users in UTC+13", "under load",
  "with more than 1000 rows", "when the session expires", "on slow 3G", "after the last deploy", "in dark mode",
  "for team-managed projects", "when the name contains an apostrophe", "at the DST switch", "on first login",
];
const ROLES = ["admin", "project manager", "new user", "billing owner", "support agent", "developer", "guest"];
const WANTS = [
  "export audit logs as CSV", "see who changed a field", "bulk-assign issues", "filter reports by team",
  "reset my password from the app", "get a weekly summary email", "pin favourite dashboards",
  "invite teammates by link", "download invoices", "set a default time zone", "archive old projects",
  "connect a Slack channel", "undo a bulk edit", "search by label",
];
const TASK_VERBS = ["Upgrade", "Migrate", "Document", "Remove", "Refactor", "Add monitoring for", "Rotate keys for", "Clean up", "Benchmark", "Deprecate"];
const TASK_OBJECTS = [
  "Node.js to 22 in CI", "the billing service", "legacy feature flags", "the onboarding runbook", "the Postgres 13 cluster",
  "the S3 bucket policies", "the search indexer", "the deploy pipeline", "the staging environment", "the old v1 API",
  "log retention settings", "the Redis cache", "flaky end-to-end tests", "the design tokens",
];
const EPIC_AREAS = ["Billing", "Onboarding", "Search", "Reporting", "Mobile", "Security", "Performance", "Integrations", "Accessibility", "Self-serve admin"];
const EPIC_WORDS = ["revamp", "v2", "hardening", "Q3 goals", "GA readiness", "foundations", "cleanup", "launch"];
const SUBTASK_VERBS = ["Write tests for", "Design review of", "Implement API for", "Update docs for", "QA pass on", "Add metrics to", "Wire up UI for"];
const ODD_SUMMARIES = [
  "=HYPERLINK in CSV export breaks the import",
  "+1 button misaligned on narrow screens",
  "-- flag ignored by the CLI",
  "@mentions do not notify watchers",
  "Ümlaut handling in the PDF export (Müller → M?ller)",
  "日本語 locale: dates shown as yyyy/MM/dd",
  "🚀 Launch checklist for the \"new\" editor",
  "Quote \"escaping\" and commas, in titles; semicolons too",
  "Tab\tcharacters pasted into the summary",
];

export function summaryFor(type: number, r: Rng): string {
  if (r.chance(0.02)) return r.pick(ODD_SUMMARIES);
  switch (type) {
    case T_BUG:
      return `${r.pick(SUBJECTS)} ${r.pick(PROBLEMS)} ${r.pick(CONDITIONS)}`;
    case T_STORY:
      return r.chance(0.5) ? `As a ${r.pick(ROLES)}, I can ${r.pick(WANTS)}` : capitalise(r.pick(WANTS));
    case T_EPIC:
      return `${r.pick(EPIC_AREAS)} ${r.pick(EPIC_WORDS)}`;
    case T_SUBTASK:
      return `${r.pick(SUBTASK_VERBS)} ${r.pick(SUBJECTS).toLowerCase()}`;
    default:
      return `${r.pick(TASK_VERBS)} ${r.pick(TASK_OBJECTS)}`;
  }
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

const WORDS = (
  "the service request queue retries after a timeout and the client should back off with jitter before it " +
  "tries again we saw this in production on tuesday when traffic doubled customers reported that pages took " +
  "several seconds to load the dashboard query scans every row instead of using the index so we need a " +
  "migration that adds it without locking the table please keep the old endpoint until mobile clients move " +
  "over metrics show p95 latency above the target error budget is almost spent"
).split(" ");

function sentence(r: Rng, min = 6, max = 12): string {
  const n = min + r.int(max - min + 1);
  const out: string[] = [];
  for (let k = 0; k < n; k++) out.push(r.pick(WORDS));
  const s = out.join(" ");
  return s.charAt(0).toUpperCase() + s.slice(1) + ".";
}

export interface Mentionable {
  accountId: string;
  displayName: string;
}

// ADF is emitted directly as JSON text (the hot path of serving 100k issues); every text
// value goes through JSON.stringify, so the output is always valid JSON.

function text(t: string, marks?: string): string {
  return marks ? `{"type":"text","text":${JSON.stringify(t)},"marks":${marks}}` : `{"type":"text","text":${JSON.stringify(t)}}`;
}

const MARK_STRONG = '[{"type":"strong"}]';
const MARK_EM = '[{"type":"em"}]';
const MARK_CODE = '[{"type":"code"}]';
const MARK_LINK = '[{"type":"link","attrs":{"href":"https://wiki.example.com/runbooks/retries"}}]';

function paragraph(r: Rng, people: readonly Mentionable[], rich: boolean): string {
  let content = text(sentence(r) + " ");
  if (rich) {
    const roll = r.int(6);
    if (roll === 0) content += "," + text("This blocks the release", MARK_STRONG) + "," + text(". ");
    else if (roll === 1) content += "," + text("See ") + "," + text("the runbook", MARK_LINK) + "," + text(". ");
    else if (roll === 2) content += "," + text("The flag ") + "," + text("retry.maxAttempts", MARK_CODE) + "," + text(" is ignored. ");
    else if (roll === 3) {
      const who = r.pick(people);
      content +=
        "," + text("cc ") +
        `,{"type":"mention","attrs":{"id":${JSON.stringify(who.accountId)},"text":${JSON.stringify("@" + who.displayName)},"accessLevel":""}}` +
        "," + text(" ");
    } else if (roll === 4) content += ',{"type":"hardBreak"},' + text(sentence(r, 4, 8), MARK_EM);
  }
  return `{"type":"paragraph","content":[${content}]}`;
}

function list(r: Rng, ordered: boolean, items: number): string {
  const content: string[] = [];
  for (let k = 0; k < items; k++) {
    content.push(`{"type":"listItem","content":[{"type":"paragraph","content":[${text(sentence(r, 3, 8))}]}]}`);
  }
  return ordered ? `{"type":"orderedList","attrs":{"order":1},"content":[${content.join(",")}]}` : `{"type":"bulletList","content":[${content.join(",")}]}`;
}

function heading(level: number, t: string): string {
  return `{"type":"heading","attrs":{"level":${level}},"content":[${text(t)}]}`;
}

const CODE_SAMPLES = [
  { language: "bash", text: "curl -sS https://api.example.com/v1/health | jq .status" },
  { language: "json", text: '{\n  "error": "timeout",\n  "retryAfter": 30\n}' },
  { language: "typescript", text: "const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });" },
  { language: "java", text: "java.lang.NullPointerException\n\tat com.example.billing.InvoiceJob.run(InvoiceJob.java:88)" },
];

function doc(blocks: string[]): string {
  return `{"type":"doc","version":1,"content":[${blocks.join(",")}]}`;
}

/** An ADF description as JSON text, or `null` (about 20 % of issues have none). */
export function descriptionJson(type: number, r: Rng, people: readonly Mentionable[]): string {
  if (r.chance(0.2)) return "null";
  const content: string[] = [paragraph(r, people, true)];
  if (type === T_BUG) {
    content.push(heading(3, "Steps to reproduce"), list(r, true, 2 + r.int(2)));
    if (r.chance(0.5)) content.push(heading(3, "Expected"), paragraph(r, people, false));
    if (r.chance(0.4)) {
      const code = r.pick(CODE_SAMPLES);
      content.push(`{"type":"codeBlock","attrs":{"language":"${code.language}"},"content":[${text(code.text)}]}`);
    }
  } else if (type === T_STORY) {
    if (r.chance(0.6)) content.push(heading(2, "Acceptance criteria"), list(r, false, 2 + r.int(2)));
  } else if (type === T_EPIC) {
    content.push(heading(2, "Goals"), list(r, false, 2), paragraph(r, people, true));
  } else if (r.chance(0.35)) {
    content.push(list(r, r.chance(0.5), 2 + r.int(2)));
  }
  if (r.chance(0.2)) content.push(paragraph(r, people, true));
  return doc(content);
}

export function commentBodyJson(r: Rng, people: readonly Mentionable[]): string {
  return doc([paragraph(r, people, true)]);
}

export const LABELS = [
  "backend", "frontend", "tech-debt", "customer", "security", "performance", "ux", "flaky-test",
  "q3-goal", "needs-triage", "infra", "regression", "accessibility", "docs",
];

const TEAM_TEXT = ["Platform squad", "payments-core", "Growth", "Core UX", "data-eng", "SRE"];
export function teamText(r: Rng): string {
  return r.pick(TEAM_TEXT);
}
