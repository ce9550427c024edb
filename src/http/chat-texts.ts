/**
 * Every text of a validated chat completion request that the upstream model will read, each with
 * its path in the body (`messages[2].content[0].text`): what the guard scores. No HTTP here; the
 * schema that decides what a request may hold is chat-request.ts.
 */
import { MAX_JSON_DEPTH, type ChatContentPart, type ChatRequest } from './chat-request.ts';

/** One text of a request that the model will read, and where it is (`messages[2].content[0].text`). */
export interface ChatText {
  path: string;
  text: string;
}

/**
 * The string values inside a JSON value, in document order, with their paths below `path`
 * (`.properties.city.description`, `[0]`), down to MAX_JSON_DEPTH levels (deeper strings are
 * still in the JSON text). Without recursion: parsed tool arguments may nest deep.
 */
function jsonStrings(value: unknown, path: string): ChatText[] {
  const found: ChatText[] = [];
  const stack: { value: unknown; path: string; depth: number }[] = [{ value, path, depth: 0 }];
  while (stack.length > 0) {
    const next = stack.pop()!;
    if (typeof next.value === 'string') found.push({ path: next.path, text: next.value });
    if (typeof next.value !== 'object' || next.value === null || next.depth >= MAX_JSON_DEPTH) continue;
    const depth = next.depth + 1;
    const children = Array.isArray(next.value)
      ? next.value.map((child, i) => ({ value: child as unknown, path: `${next.path}[${i}]`, depth }))
      : Object.entries(next.value).map(([key, child]) => ({ value: child, path: `${next.path}.${key}`, depth }));
    stack.push(...children.reverse());
  }
  return found;
}

/**
 * Every text of a validated request that the upstream model will read, in the order of the
 * body: the messages first, then the tool and function definitions, tool choice, response format,
 * prediction and search location. Empty and blank texts are left out (nothing to check). JSON
 * (tool parameters, a response schema, tool call arguments when they parse) comes as its JSON
 * text and, after it, each string value inside by its own path
 * (`tools[0].function.parameters.properties.city.description`), so a harmful sentence is not
 * diluted by the JSON around it.
 * @example chatTexts(ChatRequestSchema.parse(body)) // [{ path: 'messages[0].content', text: 'Hi' }]
 */
export function chatTexts(request: ChatRequest): ChatText[] {
  const texts: ChatText[] = [];
  const add = (path: string, text: string | null | undefined) => {
    if (text != null && text.trim() !== '') texts.push({ path, text });
  };
  const addJson = (path: string, value: unknown) => {
    if (value === undefined) return;
    add(path, JSON.stringify(value));
    for (const inner of jsonStrings(value, path)) add(inner.path, inner.text);
  };
  /** Tool call arguments: text "in JSON format", which the model may not have kept to. */
  const addArguments = (path: string, text: string | undefined) => {
    if (text === undefined) return;
    add(path, text);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return;
    }
    if (typeof parsed === 'object' && parsed !== null) for (const inner of jsonStrings(parsed, path)) add(inner.path, inner.text);
  };
  const addContent = (path: string, content: string | readonly ChatContentPart[] | null | undefined) => {
    if (typeof content === 'string' || content == null) return add(path, content);
    content.forEach((part, j) => {
      if (part.type === 'text') add(`${path}[${j}].text`, part.text);
      if (part.type === 'refusal') add(`${path}[${j}].refusal`, part.refusal);
      // image, audio and file parts never get here: the schema refused them
    });
  };

  request.messages.forEach((message, i) => {
    const at = `messages[${i}]`;
    if ('name' in message) add(`${at}.name`, message.name);
    addContent(`${at}.content`, message.content);
    if (message.role === 'tool') add(`${at}.tool_call_id`, message.tool_call_id);
    if (message.role !== 'assistant') return;
    add(`${at}.refusal`, message.refusal);
    message.tool_calls?.forEach((call, k) => {
      add(`${at}.tool_calls[${k}].id`, call.id);
      if (call.type === 'function') {
        add(`${at}.tool_calls[${k}].function.name`, call.function.name);
        addArguments(`${at}.tool_calls[${k}].function.arguments`, call.function.arguments);
      } else {
        add(`${at}.tool_calls[${k}].custom.name`, call.custom.name);
        add(`${at}.tool_calls[${k}].custom.input`, call.custom.input);
      }
    });
    add(`${at}.function_call.name`, message.function_call?.name);
    addArguments(`${at}.function_call.arguments`, message.function_call?.arguments);
  });

  request.tools?.forEach((tool, k) => {
    if (tool.type === 'function') {
      add(`tools[${k}].function.name`, tool.function.name);
      add(`tools[${k}].function.description`, tool.function.description);
      addJson(`tools[${k}].function.parameters`, tool.function.parameters);
    } else {
      add(`tools[${k}].custom.name`, tool.custom.name);
      add(`tools[${k}].custom.description`, tool.custom.description);
      if (tool.custom.format?.type === 'grammar')
        add(`tools[${k}].custom.format.grammar.definition`, tool.custom.format.grammar.definition);
    }
  });
  request.functions?.forEach((fn, k) => {
    add(`functions[${k}].name`, fn.name);
    add(`functions[${k}].description`, fn.description);
    addJson(`functions[${k}].parameters`, fn.parameters);
  });
  const choice = request.tool_choice;
  if (typeof choice === 'object') {
    if (choice.type === 'function') add('tool_choice.function.name', choice.function.name);
    if (choice.type === 'custom') add('tool_choice.custom.name', choice.custom.name);
    if (choice.type === 'allowed_tools')
      choice.allowed_tools.tools.forEach((tool, k) => addJson(`tool_choice.allowed_tools.tools[${k}]`, tool));
  }
  if (typeof request.function_call === 'object') add('function_call.name', request.function_call.name);
  if (request.response_format?.type === 'json_schema') {
    const { json_schema: schema } = request.response_format;
    add('response_format.json_schema.name', schema.name);
    add('response_format.json_schema.description', schema.description);
    addJson('response_format.json_schema.schema', schema.schema);
  }
  if (request.prediction) addContent('prediction.content', request.prediction.content);
  const location = request.web_search_options?.user_location?.approximate;
  for (const key of ['city', 'country', 'region', 'timezone'] as const)
    add(`web_search_options.user_location.approximate.${key}`, location?.[key]);
  return texts;
}
