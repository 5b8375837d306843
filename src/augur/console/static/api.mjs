// Talking to the server: every request carries the signed-in token (kept in sessionStorage,
// where the edge pages read it too), and every error becomes an ApiError holding the
// server's own message.
const KEY = "augur.token";

export function token() {
  return sessionStorage.getItem(KEY) || "";
}

export function setToken(value) {
  if (value) sessionStorage.setItem(KEY, value);
  else sessionStorage.removeItem(KEY);
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }

  // What to tell the user: refusals name the token that is needed.
  explain() {
    if (this.status === 401) {
      return `Refused (401): ${this.message}. ${token() ? "The signed-in token is not accepted here." : "Sign in with a token."}`;
    }
    if (this.status === 403) {
      return `Refused (403): ${this.message}. Sign in with a token that may do this.`;
    }
    return `${this.message} (HTTP ${this.status})`;
  }
}

async function request(path, { method = "GET", body, text = false } = {}) {
  const headers = { Accept: text ? "text/plain" : "application/json" };
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  const init = { method, headers, cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, `the server could not be reached (${err.message})`);
  }
  const raw = await res.text();
  if (!res.ok) {
    let message = raw;
    try {
      message = JSON.parse(raw).error || raw;
    } catch {
      // not JSON: keep the text
    }
    throw new ApiError(res.status, message || res.statusText);
  }
  if (text) return raw;
  return raw ? JSON.parse(raw) : {};
}

export const api = {
  get: (path) => request(path),
  text: (path) => request(path, { text: true }),
  post: (path, body = {}) => request(path, { method: "POST", body }),
  put: (path, body = {}) => request(path, { method: "PUT", body }),
};

export const enc = encodeURIComponent;
