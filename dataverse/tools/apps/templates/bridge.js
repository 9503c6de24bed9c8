// The app side of MCP Apps (JSON-RPC 2.0 over postMessage with the host), written by hand instead of the SDK bundle.
// Order: ui/initialize -> (answer) -> ui/notifications/initialized -> the host sends tool-input, tool-result.
// Nothing but ui/initialize goes to the host before initialized. Theme and CSS variables come from hostContext.
const Bridge = (() => {
  const MAX_INLINE_HEIGHT = 500;
  const pending = new Map();
  const handlers = {};
  let nextId = 1;
  let initialized = false;
  let lastSize = "";
  const state = { hostContext: {}, hostCapabilities: {}, toolInput: {} };

  function post(message) {
    window.parent.postMessage(Object.assign({ jsonrpc: "2.0" }, message), "*");
  }

  function request(method, params) {
    const id = nextId++;
    post({ id: id, method: method, params: params || {} });
    return new Promise((resolve, reject) => pending.set(id, { resolve: resolve, reject: reject }));
  }

  function notify(method, params) {
    if (initialized) post({ method: method, params: params || {} });
  }

  function applyHostContext(context) {
    if (!context || typeof context !== "object") return;
    Object.assign(state.hostContext, context);
    const root = document.documentElement;
    if (context.theme === "light" || context.theme === "dark") {
      root.dataset.theme = context.theme;
      root.style.colorScheme = context.theme;
    }
    const variables = context.styles && context.styles.variables;
    if (variables && typeof variables === "object") {
      for (const [name, value] of Object.entries(variables)) {
        if (name.startsWith("--") && typeof value === "string" && value) root.style.setProperty(name, value);
      }
    }
    if (context.locale) root.lang = context.locale;
    const limit = context.containerDimensions && context.containerDimensions.maxHeight;
    root.style.setProperty("--max-height", Math.min(limit || MAX_INLINE_HEIGHT, MAX_INLINE_HEIGHT) + "px");
  }

  function reportSize() {
    if (!initialized) return;
    const box = document.body.getBoundingClientRect();
    const size = { width: Math.ceil(box.width), height: Math.min(Math.ceil(box.height), MAX_INLINE_HEIGHT) };
    const key = size.width + "x" + size.height;
    if (key === lastSize) return;
    lastSize = key;
    notify("ui/notifications/size-changed", size);
  }

  function onMessage(event) {
    if (event.source !== window.parent) return;
    const message = event.data;
    if (!message || message.jsonrpc !== "2.0") return;
    if (message.method === undefined) {
      const waiting = pending.get(message.id);
      if (!waiting) return;
      pending.delete(message.id);
      if (message.error) waiting.reject(new Error(message.error.message || "The host refused the request."));
      else waiting.resolve(message.result || {});
      return;
    }
    const params = message.params || {};
    if (message.method === "ui/notifications/host-context-changed") applyHostContext(params);
    if (message.method === "ui/notifications/tool-input") state.toolInput = params.arguments || {};
    const handler = handlers[message.method];
    if (message.id === undefined) {
      if (handler) handler(params);
      return;
    }
    if (message.method === "ping" || message.method === "ui/resource-teardown") {
      post({ id: message.id, result: {} });
    } else {
      post({ id: message.id, error: { code: -32601, message: "Method not found: " + message.method } });
    }
  }

  // The data of a CallToolResult: structuredContent, or the JSON of its first text item (Claude Desktop may strip
  // structuredContent before the widget sees it). Throws with the tool's own words for an error result.
  function resultData(result) {
    const text = ((result && result.content) || []).filter((item) => item && item.type === "text")[0];
    if (!result || result.isError) throw new Error((text && text.text) || "The tool reported an error.");
    if (result.structuredContent && typeof result.structuredContent === "object") return result.structuredContent;
    if (!text) throw new Error("The result has no data to show.");
    return JSON.parse(text.text);
  }

  async function start(appName, on) {
    Object.assign(handlers, on);
    window.addEventListener("message", onMessage);
    const answer = await request("ui/initialize", {
      appInfo: { name: appName, version: "1" },
      appCapabilities: { availableDisplayModes: ["inline"] },
      protocolVersion: "2026-01-26",
    });
    state.hostCapabilities = answer.hostCapabilities || {};
    applyHostContext(answer.hostContext);
    initialized = true;
    post({ method: "ui/notifications/initialized", params: {} });
    new ResizeObserver(reportSize).observe(document.body);
    reportSize();
  }

  // Calls one of our tools through the host (same user, policy and audit as the model's calls).
  async function callTool(name, args) {
    return resultData(await request("tools/call", { name: name, arguments: args }));
  }

  // Opens a link in the host (the sandboxed frame may not open windows itself).
  function openLink(url) {
    return request("ui/open-link", { url: url });
  }

  function toolName(fallback) {
    const info = state.hostContext.toolInfo;
    return (info && info.tool && info.tool.name) || fallback;
  }

  return { start, callTool, openLink, resultData, toolName, state, reportSize };
})();

// Small helpers every widget uses: elements, numbers, dates and names in words.
const h = (tag, attributes, ...children) => {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (key === "text") element.textContent = value;
    else element.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) element.append(child);
  }
  return element;
};

// Replaces an element's children, leaving out the absent ones (null, undefined, false, 0 from `list.length && ...`).
function fill(element, ...children) {
  element.replaceChildren(...children.flat().filter(Boolean));
}

const locale = () => Bridge.state.hostContext.locale || undefined;

function formatNumber(value) {
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: 2 }).format(value);
}

function isLookup(value) {
  return value && typeof value === "object" && "table" in value && "id" in value;
}

function isChoice(value) {
  return value && typeof value === "object" && "value" in value && "label" in value;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2})?/;

// A cell's value in words: lookups by name, choices by label, date-times as given (the user's offset), no seconds.
function displayValue(value) {
  if (value === null || value === undefined) return "";
  if (isLookup(value)) return value.name || value.id;
  if (isChoice(value)) return value.label;
  if (Array.isArray(value)) return value.map(displayValue).join(", ");
  if (typeof value === "boolean") return value ? "Yes" : "No";
  if (typeof value === "number") return formatNumber(value);
  if (typeof value === "object") return JSON.stringify(value);
  const text = String(value);
  if (ISO_DATE.test(text)) return text.length > 10 ? text.slice(0, 16).replace("T", " ") : text;
  return text;
}

// Logical column names in words, e.g. estimatedclosedate -> "Estimated close date", address1_city -> "Address 1 city".
const WORDS = ("estimated actual close date value probability created modified owner customer parent account " +
  "contact state status code name email address line city country postal phone telephone mobile number revenue " +
  "sales stage rating step description subject scheduled start end priority percent complete direction location " +
  "job title first last full middle industry lead source quality budget amount currency transaction business unit " +
  "regarding activity type due on by id purchase time frame process decision maker website url employees count " +
  "fax or province county street zip topic rating opportunity total discount freight tax credit limit hold " +
  "preferred method do not bulk mail send marketing materials family birth gender marital spouse partner " +
  "annual category ownership primary secondary tertiary version overridden of object").split(" ");
const LABELS = { statecode: "Status", statuscode: "Status reason" };

function columnLabel(name) {
  if (LABELS[name]) return LABELS[name];
  const parts = [];
  for (const chunk of String(name).split(/[_\s]+|(?<=\D)(?=\d)|(?<=\d)(?=\D)/)) {
    let rest = chunk.toLowerCase();
    while (rest) {
      const word = WORDS.filter((w) => rest.startsWith(w)).sort((a, b) => b.length - a.length)[0] ||
        (/^\d+/.exec(rest) || [rest])[0];
      parts.push(word);
      rest = rest.slice(word.length);
    }
  }
  const words = parts.join(" ").replace(/ id$/, "").trim() || String(name);
  return words.charAt(0).toUpperCase() + words.slice(1);
}

// The Dynamics 365 page of a record (main.aspx) in the environment the tool used: the `environment` argument when
// there is one, else the first the deployment serves.
const ENVIRONMENTS = "@environments@";

function recordUrl(table, id) {
  const wanted = String(Bridge.state.toolInput.environment || "").toLowerCase().replace(/\/$/, "");
  const base = ENVIRONMENTS.find((url) => wanted && (url.toLowerCase() === wanted ||
    url.toLowerCase().split("://")[1] === wanted)) || ENVIRONMENTS[0];
  if (!base || !table || !id) return null;
  return base + "/main.aspx?pagetype=entityrecord&etn=" + encodeURIComponent(table) + "&id=" + encodeURIComponent(id);
}

// A link that the host opens: the sandboxed frame may not open windows or navigate away itself.
function hostLink(url, text, label) {
  return h("a", {
    href: url, class: "link", "aria-label": label,
    onclick: (event) => {
      event.preventDefault();
      Bridge.openLink(url).catch(() => showNotice("The host could not open the link: " + url));
    },
  }, text);
}

function showNotice(text) {
  const notice = document.getElementById("notice");
  if (notice) notice.textContent = text;
}

function showError(error) {
  const app = document.getElementById("app");
  fill(app, h("p", { class: "error", role: "alert" }, String((error && error.message) || error)));
}
