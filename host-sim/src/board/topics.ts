/** Message topics as the firmware runtime matches them. */

/** Whether a topic matches a subscription: exact, or "a/b/#" for every topic starting "a/b/" (as the runtime). */
export function topicMatches(pattern: string, topic: string): boolean {
  if (pattern.endsWith("/#")) return topic.startsWith(pattern.slice(0, -1));
  return pattern === topic;
}
