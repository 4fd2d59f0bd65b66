// Names people read for the enums of the API.
import { Channel, ConversationStatus, Role } from "../gen/frontdesk/common/v1/common_pb";

export const STATUS_LABEL: Record<ConversationStatus, string> = {
  [ConversationStatus.UNSPECIFIED]: "Any",
  [ConversationStatus.AI]: "AI answering",
  [ConversationStatus.HANDOFF]: "Waiting for a person",
  [ConversationStatus.HUMAN]: "Operator handling",
  [ConversationStatus.CLOSED]: "Resolved",
  [ConversationStatus.SNOOZED]: "Snoozed",
};

export const STATUS_TONE: Record<ConversationStatus, "slate" | "green" | "red" | "amber" | "indigo" | "sky"> = {
  [ConversationStatus.UNSPECIFIED]: "slate",
  [ConversationStatus.AI]: "sky",
  [ConversationStatus.HANDOFF]: "amber",
  [ConversationStatus.HUMAN]: "indigo",
  [ConversationStatus.CLOSED]: "slate",
  [ConversationStatus.SNOOZED]: "slate",
};

export const CHANNEL_LABEL: Record<Channel, string> = {
  [Channel.UNSPECIFIED]: "–",
  [Channel.WEB]: "web",
  [Channel.VOICE]: "voice",
  [Channel.API]: "API",
};

export const ROLE_LABEL: Record<Role, string> = {
  [Role.UNSPECIFIED]: "?",
  [Role.CUSTOMER]: "Customer",
  [Role.AI]: "AI",
  [Role.AGENT]: "Agent",
  [Role.SYSTEM]: "System",
};

export const HANDOFF_REASON: Record<string, string> = {
  customer_request: "the customer asked for a person",
  low_confidence: "the AI was not confident",
  ai_failure: "the AI failed to answer",
  frustrated: "the customer is upset",
  operator: "an operator took over",
};

export { Channel, ConversationStatus, Role };
