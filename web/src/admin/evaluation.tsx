// "Test the answers": a tenant pastes test conversations (JSON lines, the format of
// `frontdesk eval`) and sees how the AI would answer them from the knowledge base as it
// is published now: answered right, answered wrong, handed off, per category. A wrong
// answer is worse than a handoff, so that is the figure to gate a change on.

import { useState } from "react";

import { api } from "./api";
import { Button, Card, ErrorBanner, Field, inputClass, Notice, Table, Td, useAction } from "./components";
import type { MessageInitShape } from "@bufbuild/protobuf";

import type { EvaluationCaseSchema, EvaluationReport } from "../gen/frontdesk/knowledge/v1/knowledge_pb";

const EXAMPLE = [
  '{"turns": ["hi"], "expect": "reply", "category": "small_talk"}',
  '{"turns": ["How much is shipping?", "and how long does it take?"], "expect": "shipping-time", "category": "follow_up"}',
  '{"turns": ["what is the capital of France?"], "expect": "handoff", "category": "out_of_scope"}',
].join("\n");

type CaseInit = MessageInitShape<typeof EvaluationCaseSchema>;
type Parsed = { cases: CaseInit[]; error?: string };

export function parseCases(text: string): Parsed {
  const cases: CaseInit[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? "").trim();
    if (!line) continue;
    let obj: { turns?: unknown; question?: unknown; expect?: unknown; category?: unknown };
    try {
      obj = JSON.parse(line);
    } catch {
      return { cases, error: `Line ${i + 1} is not JSON.` };
    }
    const turns = Array.isArray(obj.turns) ? obj.turns.map(String) : typeof obj.question === "string" ? [obj.question] : [];
    if (turns.length === 0) return { cases, error: `Line ${i + 1} needs "turns" (the customer's messages).` };
    if (typeof obj.expect !== "string" || !obj.expect) return { cases, error: `Line ${i + 1} needs "expect": an entry id, "handoff" or "reply".` };
    cases.push({
      question: turns[turns.length - 1],
      history: turns.slice(0, -1),
      expect: obj.expect,
      category: typeof obj.category === "string" ? obj.category : "",
    });
  }
  return { cases };
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

export function EvaluationCard() {
  const [text, setText] = useState("");
  const [report, setReport] = useState<EvaluationReport>();
  const [problem, setProblem] = useState("");
  const run = useAction();
  return (
    <Card title="Test the answers">
      <form className="space-y-2" onSubmit={(e) => {
        e.preventDefault();
        const parsed = parseCases(text);
        setProblem(parsed.error ?? (parsed.cases.length === 0 ? "Paste at least one test case." : ""));
        if (parsed.error || parsed.cases.length === 0) return;
        void run.run(async () => setReport(await api.knowledge.runEvaluation({ cases: parsed.cases }, { timeoutMs: 600_000 })));
      }}>
        <Field label="Test conversations" hint={<>One JSON object a line: the customer's <code>turns</code> and what should happen to the last one (<code>expect</code>: an entry id, <code>"handoff"</code> or <code>"reply"</code>), optionally a <code>category</code>.</>}>
          <textarea aria-label="Test conversations" className={`${inputClass} font-mono text-xs`} rows={5} placeholder={EXAMPLE} value={text} onChange={(e) => setText(e.target.value)} />
        </Field>
        <Button type="submit" variant="primary" disabled={run.busy}>{run.busy ? "Testing…" : "Run the test"}</Button>
      </form>
      {problem && <Notice tone="warning">{problem}</Notice>}
      <ErrorBanner error={run.error} />
      {report && (
        <div className="mt-3 space-y-2 text-sm" data-testid="evaluation-report">
          <p>
            {report.cases} cases: <strong data-figure="right">{pct(report.answeredRight)}</strong> answered right,{" "}
            <strong data-figure="wrong">{pct(report.answeredWrong)}</strong> answered wrong,{" "}
            <strong data-figure="handed-off">{pct(report.handedOff)}</strong> handed to a person.
          </p>
          <Table head={["Category", "Cases", "Right", "Wrong", "Handed off"]}>
            {report.categories.map((c) => (
              <tr key={c.category} data-category={c.category}>
                <Td>{c.category}</Td><Td>{c.cases}</Td><Td>{pct(c.answeredRight)}</Td><Td>{pct(c.answeredWrong)}</Td><Td>{pct(c.handedOff)}</Td>
              </tr>
            ))}
          </Table>
        </div>
      )}
    </Card>
  );
}
