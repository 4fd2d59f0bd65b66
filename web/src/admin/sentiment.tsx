// A conversation's sentiment (AnalyticsService: the mean VADER compound of its customer
// messages), shown in the conversation list and on the analytics page.

import { Badge } from "./components";
import type { ConversationSentiment } from "../gen/frontdesk/analytics/v1/analytics_pb";

const SENTIMENT_TONE: Record<string, "green" | "red" | "slate"> = { positive: "green", negative: "red", neutral: "slate" };

/** A conversation's sentiment as a small badge: its label and mean VADER compound. */
export function SentimentBadge({ s }: { s: ConversationSentiment }) {
  return (
    <span data-sentiment={s.label} title={`mean ${s.meanCompound.toFixed(2)}, most negative ${s.minCompound.toFixed(2)}, ${s.messages} message(s)`}>
      <Badge tone={SENTIMENT_TONE[s.label] ?? "slate"}>{s.label} {s.meanCompound.toFixed(2)}</Badge>
    </span>
  );
}
