/** The benchmarks' prompt: 500 characters of ordinary support-chat text. */
export const BENCH_PROMPT = (
  'Hi, I run a small bakery and I am trying to move our order tracking from paper notebooks to a ' +
  'spreadsheet. Every morning we get about forty orders by phone and email, some for the same day ' +
  'and some for the weekend. Could you suggest a simple layout with columns for the customer, the ' +
  'items, pickup time and whether it has been paid, and explain how to highlight orders that are ' +
  'due within two hours? I would also like a weekly summary of best sellers. Thanks a lot for any ' +
  'tips you can share with a beginner.'
).slice(0, 500);
