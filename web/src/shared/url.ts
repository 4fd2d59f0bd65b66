// Links from the knowledge base (citations) are shown to people: only http(s), never javascript:.

/** `url` when it is an http or https address, else undefined. */
export function safeUrl(url: string): string | undefined {
  try {
    const u = new URL(url);
    return u.protocol === "https:" || u.protocol === "http:" ? u.href : undefined;
  } catch {
    return undefined;
  }
}
