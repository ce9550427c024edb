/**
 * An OpenAI Chat Completions request body, as the guard accepts it: the roles, content parts and
 * fields of OpenAI's API (openai-node's `ChatCompletionCreateParams`), matched exactly, and every
 * piece of text in it that the upstream model will read, each with its path. No HTTP here.
 *
 * Whatever the schema does not know is refused, never skipped or passed on: a role spelled
 * "User" or "user ", an `input_text` part, `content: null` where OpenAI requires content, an
 * empty `messages`, and any unknown field at any level (an OpenAI-compatible server may read
 * fields OpenAI does not have, such as vLLM's `chat_template` or `documents`, and the guard would
 * not have checked them). Images, audio and files cannot be checked by a text model, so parts
 * that carry them are refused too (`unsupported_content`) rather than forwarded unchecked.
 *
 * Which fields are text the model reads (scored): every message's content (string, text parts,
 * refusal parts), `name`, `refusal`, tool calls (id, name, arguments or custom input), the
 * deprecated `function_call`, a tool message's `tool_call_id`; the definitions in `tools` and
 * `functions` (name, description, JSON parameters, custom grammar), the names in `tool_choice`
 * and `function_call`, `response_format`'s JSON schema (name, description, schema),
 * `prediction`'s content and the free-text location of `web_search_options`. JSON (parameters,
 * schemas, tool call arguments) is scored as a whole and each string value inside it alone. Not
 * scored, because the model never reads them, but bounded and checked for lone surrogates:
 * `model`, `user`, `safety_identifier`, `prompt_cache_key`, `metadata`, `stop`, the audio voice,
 * and the enums, numbers and booleans.
 */
import { z } from 'zod';
import { MAX_TEXT_CHARS, refuseLoneSurrogate } from '../http/limits.ts';

/** Longest string the model does not read (`model`, `user`, `stop` entries, ids of voices). */
const MAX_FIELD_CHARS = 512;
/** Deepest nesting of a JSON value inside the body (tool parameters, a response schema). */
const MAX_JSON_DEPTH = 64;

/** A text the model reads: may be empty, at most MAX_TEXT_CHARS, well-formed Unicode. */
const Text = z.string().max(MAX_TEXT_CHARS).superRefine(refuseLoneSurrogate);
/** A string the model does not read. */
const Field = (max = MAX_FIELD_CHARS) => z.string().max(max).superRefine(refuseLoneSurrogate);

/** Walks a JSON value without recursion (a 1 MiB body can nest far deeper than the stack). */
function checkJson(value: unknown, ctx: z.core.$RefinementCtx<unknown>): void {
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  const strings: string[] = [];
  while (stack.length > 0) {
    const { value, depth } = stack.pop()!;
    if (typeof value === 'string') strings.push(value);
    if (typeof value !== 'object' || value === null) continue;
    if (depth >= MAX_JSON_DEPTH) {
      ctx.addIssue({ code: 'custom', message: `nested deeper than ${MAX_JSON_DEPTH} levels` });
      return;
    }
    for (const [key, child] of Object.entries(value)) {
      strings.push(key);
      stack.push({ value: child, depth: depth + 1 });
    }
  }
  for (const text of strings) refuseLoneSurrogate(text, ctx as z.core.$RefinementCtx<string>);
  const length = JSON.stringify(value).length;
  if (length > MAX_TEXT_CHARS) {
    ctx.addIssue({ code: 'too_big', origin: 'string', maximum: MAX_TEXT_CHARS, inclusive: true, input: value, message: `longer than ${MAX_TEXT_CHARS} characters as JSON` });
  }
}

/** A JSON object the model reads as a whole (a JSON schema): scored as its JSON text. */
const JsonObject = z.record(z.string(), z.unknown()).superRefine(checkJson);

/** A value in an error message: short, and never a deep structure serialised whole. */
const show = (value: unknown): string => {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object' && value !== null) return 'an object';
  return JSON.stringify(typeof value === 'string' && value.length > 40 ? `${value.slice(0, 40)}…` : value);
};

/** `must be one of 'a', 'b' (got "c")`, for a discriminated union whose `key` matches no option. */
const oneOf = (key: string, values: readonly string[]) => (issue: z.core.$ZodRawIssue) => {
  if (issue.code !== 'invalid_union' || typeof issue.input !== 'object' || issue.input === null) return undefined;
  return `must be one of ${values.map((v) => `'${v}'`).join(', ')} (got ${show((issue.input as Record<string, unknown>)[key])})`;
};

/** A part the guard cannot read: refused whatever its shape, naming what it is. */
const Unsupported = <T extends string>(type: T, what: string) =>
  z.looseObject({ type: z.literal(type) }).superRefine((_, ctx) => {
    ctx.addIssue({
      code: 'custom',
      message: `${type} parts cannot be checked: EdgeGuard moderates text, so ${what} are refused rather than forwarded unchecked; send text only`,
      params: { code: 'unsupported_content' },
    });
  });

const CacheBreakpoint = z.strictObject({ mode: z.literal('explicit'), ttl: z.enum(['30m', '12h']).optional() });
const TextPart = z.strictObject({ type: z.literal('text'), text: Text, prompt_cache_breakpoint: CacheBreakpoint.optional() });
const RefusalPart = z.strictObject({ type: z.literal('refusal'), refusal: Text });

/** A string, or an array of at least one `part`. */
const content = <T extends z.ZodType>(part: T) =>
  z.union([Text, z.array(part).min(1, 'must hold at least one part')], {
    error: (issue) => (issue.code === 'invalid_union' ? `must be a string or an array of content parts (got ${show(issue.input)})` : undefined),
  });
const TextContent = content(z.discriminatedUnion('type', [TextPart], { error: oneOf('type', ['text']) }));
const USER_PARTS = ['text', 'image_url', 'input_audio', 'file'] as const;
const UserPart = z.discriminatedUnion(
  'type',
  [TextPart, Unsupported('image_url', 'images'), Unsupported('input_audio', 'audio inputs'), Unsupported('file', 'files')],
  { error: oneOf('type', USER_PARTS) },
);
const AssistantPart = z.discriminatedUnion('type', [TextPart, RefusalPart], { error: oneOf('type', ['text', 'refusal']) });

const FunctionCall = z.strictObject({ name: Text, arguments: Text });
const ToolCall = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ id: Text, type: z.literal('function'), function: FunctionCall }),
    z.strictObject({ id: Text, type: z.literal('custom'), custom: z.strictObject({ name: Text, input: Text }) }),
  ],
  { error: oneOf('type', ['function', 'custom']) },
);

const SystemMessage = z.strictObject({ role: z.literal('system'), content: TextContent, name: Text.optional() });
const DeveloperMessage = z.strictObject({ role: z.literal('developer'), content: TextContent, name: Text.optional() });
const UserMessage = z.strictObject({ role: z.literal('user'), content: content(UserPart), name: Text.optional() });
const AssistantMessage = z
  .strictObject({
    role: z.literal('assistant'),
    content: content(AssistantPart).nullable().optional(),
    refusal: Text.nullable().optional(),
    name: Text.optional(),
    tool_calls: z.array(ToolCall).min(1, 'must hold at least one tool call').optional(),
    function_call: FunctionCall.nullable().optional(),
    // a reference to an earlier spoken answer: audio the guard cannot read
    audio: z
      .unknown()
      .superRefine((audio, ctx) => {
        if (audio !== null) ctx.addIssue({ code: 'custom', message: 'an earlier audio answer cannot be checked: EdgeGuard moderates text; send its transcript as content', params: { code: 'unsupported_content' } });
      })
      .optional(),
  })
  .superRefine((message, ctx) => {
    if (message.content == null && message.refusal == null && !message.tool_calls && !message.function_call) {
      ctx.addIssue({ code: 'custom', path: ['content'], message: 'an assistant message needs content, a refusal, tool_calls or function_call' });
    }
  });
const ToolMessage = z.strictObject({ role: z.literal('tool'), content: TextContent, tool_call_id: Text });
const FunctionMessage = z.strictObject({ role: z.literal('function'), content: Text.nullable(), name: Text });

/** The roles of OpenAI's Chat Completions API, exactly (`function` is deprecated, still accepted). */
export const CHAT_ROLES = ['system', 'developer', 'user', 'assistant', 'tool', 'function'] as const;
const Message = z.discriminatedUnion('role', [SystemMessage, DeveloperMessage, UserMessage, AssistantMessage, ToolMessage, FunctionMessage], {
  error: oneOf('role', CHAT_ROLES),
});

const FunctionDefinition = z.strictObject({ name: Text, description: Text.optional(), parameters: JsonObject.optional(), strict: z.boolean().nullable().optional() });
const CustomFormat = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('text') }),
  z.strictObject({ type: z.literal('grammar'), grammar: z.strictObject({ definition: Text, syntax: z.enum(['lark', 'regex']) }) }),
]);
const Tool = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('function'), function: FunctionDefinition }),
    z.strictObject({ type: z.literal('custom'), custom: z.strictObject({ name: Text, description: Text.optional(), format: CustomFormat.optional() }) }),
  ],
  { error: oneOf('type', ['function', 'custom']) },
);
const ToolChoice = z.union([
  z.enum(['none', 'auto', 'required']),
  z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('allowed_tools'), allowed_tools: z.strictObject({ mode: z.enum(['auto', 'required']), tools: z.array(JsonObject) }) }),
    z.strictObject({ type: z.literal('function'), function: z.strictObject({ name: Text }) }),
    z.strictObject({ type: z.literal('custom'), custom: z.strictObject({ name: Text }) }),
  ]),
]);
const ResponseFormat = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('text') }),
  z.strictObject({ type: z.literal('json_object') }),
  z.strictObject({
    type: z.literal('json_schema'),
    json_schema: z.strictObject({ name: Text, description: Text.optional(), schema: JsonObject.optional(), strict: z.boolean().nullable().optional() }),
  }),
]);
const Location = z.strictObject({
  type: z.literal('approximate'),
  approximate: z.strictObject({ city: Text.optional(), country: Text.optional(), region: Text.optional(), timezone: Text.optional() }),
});
const ModerationMode = z.strictObject({ mode: z.enum(['score', 'block']) }).nullable().optional();

const number = z.number().nullable().optional();
const boolean = z.boolean().nullable().optional();

/**
 * The request body of `POST /v1/chat/completions` (openai-node's `ChatCompletionCreateParams`),
 * strict at every level. `model` is optional here: an OpenAI-compatible upstream that needs it
 * says so itself.
 * @example ChatRequestSchema.parse({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] })
 */
export const ChatRequestSchema = z.strictObject({
  model: Field().optional(),
  messages: z.array(Message).min(1, 'must hold at least one message'),
  audio: z.strictObject({ format: z.enum(['wav', 'aac', 'mp3', 'flac', 'opus', 'pcm16']), voice: z.union([Field(), z.strictObject({ id: Field() })]) }).nullable().optional(),
  frequency_penalty: number,
  function_call: z.union([z.enum(['none', 'auto']), z.strictObject({ name: Text })]).optional(),
  functions: z.array(z.strictObject({ name: Text, description: Text.optional(), parameters: JsonObject.optional() })).optional(),
  logit_bias: z.record(Field(64), z.number()).nullable().optional(),
  logprobs: boolean,
  max_completion_tokens: number,
  max_tokens: number,
  metadata: z
    .record(Field(64), Field(512))
    .refine((metadata) => Object.keys(metadata).length <= 16, 'must hold at most 16 pairs')
    .nullable()
    .optional(),
  modalities: z.array(z.enum(['text', 'audio'])).nullable().optional(),
  moderation: z.strictObject({ model: Field(), policy: z.strictObject({ input: ModerationMode, output: ModerationMode }).nullable().optional() }).nullable().optional(),
  n: number,
  parallel_tool_calls: z.boolean().optional(),
  prediction: z.strictObject({ type: z.literal('content'), content: TextContent }).nullable().optional(),
  presence_penalty: number,
  prompt_cache_key: Field().nullable().optional(),
  prompt_cache_options: z.strictObject({ mode: z.enum(['implicit', 'explicit']).optional(), ttl: z.literal('30m').optional() }).optional(),
  prompt_cache_retention: z.enum(['in_memory', '24h']).nullable().optional(),
  reasoning_effort: z.enum(['none', 'minimal', 'low', 'medium', 'high', 'xhigh']).nullable().optional(),
  response_format: ResponseFormat.optional(),
  safety_identifier: Field().nullable().optional(),
  seed: number,
  service_tier: z.enum(['auto', 'default', 'flex', 'scale', 'priority', 'fast']).nullable().optional(),
  stop: z.union([Field(), z.array(Field())]).nullable().optional(),
  store: boolean,
  stream: boolean,
  stream_options: z.strictObject({ include_obfuscation: z.boolean().optional(), include_usage: z.boolean().optional() }).nullable().optional(),
  temperature: number,
  tool_choice: ToolChoice.optional(),
  tools: z.array(Tool).optional(),
  top_logprobs: number,
  top_p: number,
  user: Field().optional(),
  verbosity: z.enum(['low', 'medium', 'high']).nullable().optional(),
  web_search_options: z.strictObject({ search_context_size: z.enum(['low', 'medium', 'high']).optional(), user_location: Location.nullable().optional() }).optional(),
});

/** A validated chat completion request: what the guard checked, and all the upstream may get. */
export type ChatRequest = z.infer<typeof ChatRequestSchema>;

/** One text of a request that the model will read, and where it is (`messages[2].content[0].text`). */
export interface ChatText {
  path: string;
  text: string;
}

type Part = z.infer<typeof UserPart> | z.infer<typeof AssistantPart>;

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
  const addContent = (path: string, content: string | readonly Part[] | null | undefined) => {
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
      if (tool.custom.format?.type === 'grammar') add(`tools[${k}].custom.format.grammar.definition`, tool.custom.format.grammar.definition);
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
    if (choice.type === 'allowed_tools') choice.allowed_tools.tools.forEach((tool, k) => addJson(`tool_choice.allowed_tools.tools[${k}]`, tool));
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
  for (const key of ['city', 'country', 'region', 'timezone'] as const) add(`web_search_options.user_location.approximate.${key}`, location?.[key]);
  return texts;
}
