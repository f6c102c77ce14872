/* Polyglot Desk customer widget: one self-contained script, no framework, no CDN.

   <script src="https://desk.example.com/static/helpdesk/widget/widget.js" data-key="pk_..." async></script>

   Optional attributes: data-api (the desk's origin, default: where this script came from) and
   data-locale (the UI language, default: the browser's). Everything renders inside a Shadow DOM, so
   the host page's CSS cannot reach it; all text from the server is set with textContent, never HTML.
*/
(function () {
  "use strict";
  // The English strings are the msgids of the "djangojs" gettext domain (`makemessages -d djangojs`
  // finds gettext_noop); translations come from catalog.json, generated from the .po files
  // (`python manage.py build_widget_catalog`) and fetched from the desk (/desk/widget/v1/catalog.json).
  function gettext_noop(text) { return text; }
  var EN = {
    launcher: gettext_noop("Help"), title: gettext_noop("How can we help?"), close: gettext_noop("Close help"),
    searchLabel: gettext_noop("Ask a question"), placeholder: gettext_noop("Type your question…"),
    search: gettext_noop("Search"), suggestions: gettext_noop("Suggested articles"),
    found: gettext_noop("Articles found: {n}"), foundOne: gettext_noop("1 article found"),
    searching: gettext_noop("Searching…"), noAnswer: gettext_noop("We don't have a good answer to that yet."),
    contact: gettext_noop("Contact support"), back: gettext_noop("Back to results"),
    helpfulQuestion: gettext_noop("Did this answer your question?"), yes: gettext_noop("Yes"), no: gettext_noop("No"),
    thanks: gettext_noop("Great! Glad we could help."),
    ticketIntro: gettext_noop("Send us your question and we'll answer by email."),
    email: gettext_noop("Your email"), name: gettext_noop("Your name (optional)"), message: gettext_noop("Message"),
    send: gettext_noop("Send"), sent: gettext_noop("Thanks! Your request has been sent. We'll reply by email."),
    invalidEmail: gettext_noop("Please enter a valid email address."),
    tooMany: gettext_noop("Too many requests. Please wait a moment and try again."),
    tooLong: gettext_noop("Please shorten your question."), error: gettext_noop("Something went wrong. Please try again.")
  };
  // Until catalog.json arrives (or if it cannot), English only.
  var CATALOG = { languages: { en: { dir: "ltr" } }, aliases: {}, messages: {} };

  var DEBOUNCE_MS = 250;

  var script = document.currentScript;
  if (!script || window.__polyglotDeskWidget) { return; }
  var siteKey = script.getAttribute("data-key") || "";
  var apiOrigin = (script.getAttribute("data-api") || new URL(script.src, location.href).origin).replace(/\/+$/, "");
  var apiBase = apiOrigin + "/desk/widget/v1/" + encodeURIComponent(siteKey) + "/";
  var storageKey = "polyglot-desk-session:" + siteKey;

  // The shipped language for a BCP 47 tag ("fr-CA" → "fr", "zh-Hant-TW" → "zh-hant"), as
  // helpdesk.languages.shipped_language does on the server.
  function supported(tag) {
    var parts = String(tag || "").toLowerCase().replace(/_/g, "-").split("-");
    if (!parts[0]) { return null; }
    if (parts[0] === "zh" && (parts.indexOf("hant") > 0 || parts.indexOf("hans") > 0)) {
      return parts.indexOf("hant") > 0 ? "zh-hant" : "zh-hans";
    }
    var candidates = [parts.slice(0, 2).join("-"), parts[0]];
    for (var i = 0; i < candidates.length; i++) {
      var code = CATALOG.aliases[candidates[i]] || candidates[i];
      if (CATALOG.languages[code]) { return code; }
    }
    return null;
  }
  function browserLanguage() {
    var tags = (navigator.languages && navigator.languages.length) ? navigator.languages : [navigator.language];
    for (var i = 0; i < tags.length; i++) { if (supported(tags[i])) { return supported(tags[i]); } }
    return "en";
  }
  function dirOf(code) { return (CATALOG.languages[code] || {}).dir === "rtl" ? "rtl" : "ltr"; }
  function uiLanguage() {
    var chosen = script.getAttribute("data-locale");
    return (chosen && supported(chosen)) || browserLanguage();
  }

  var state = {
    lang: "en",
    session: null, pending: null, query: "", lastRecorded: null, results: [], article: null, timer: null, seq: 0
  };
  function t(name, n) {
    var msgid = EN[name] || name;
    var text = (CATALOG.messages[state.lang] || {})[msgid] || msgid;
    return n === undefined ? text : text.replace("{n}", String(n));
  }

  // --- the shadow root: the host page's CSS cannot reach inside; inheritance is reset at .root --------
  var host = document.createElement("polyglot-desk-widget");
  // Inline !important beats any !important rule of the host page for the host element itself. Set
  // through the CSSOM, which a host page's Content-Security-Policy allows (a style attribute it may not).
  [["all", "initial"], ["display", "block"], ["position", "static"], ["visibility", "visible"], ["opacity", "1"]]
    .forEach(function (rule) { host.style.setProperty(rule[0], rule[1], "important"); });
  var shadow = host.attachShadow({ mode: "open" });
  var CSS = [
    ":host { all: initial; }",
    "[hidden] { display: none !important; }",
    ".root { all: initial; display: block; font: 15px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto,",
    "  'Noto Sans', 'Noto Sans Arabic', Tahoma, sans-serif; color: #1d2430; }",
    ".root *, .root *::before, .root *::after { box-sizing: border-box; }",
    "button, input, textarea { font: inherit; color: inherit; margin: 0; }",
    ".launcher { position: fixed; bottom: 20px; inset-inline-end: 20px; z-index: 2147483647;",
    "  display: inline-flex; align-items: center; gap: 8px; padding: 12px 18px; border: 0; border-radius: 999px;",
    "  background: #1f5eff; color: #fff; font-weight: 600; cursor: pointer; box-shadow: 0 4px 14px rgba(0,0,0,.25); }",
    // A dark ring with a gap shows on the white panel and on the host page; white on the blue header.
    ".launcher:focus-visible, button:focus-visible, input:focus-visible, textarea:focus-visible,",
    "  h3:focus-visible, .notice:focus-visible, p:focus-visible {",
    "  outline: 3px solid #0b1f4d; outline-offset: 2px; }",
    ".close:focus-visible { outline-color: #fff; outline-offset: -4px; }",
    ".panel { position: fixed; bottom: 84px; inset-inline-end: 20px; z-index: 2147483647; display: flex;",
    "  flex-direction: column; width: min(380px, calc(100vw - 24px)); max-height: min(600px, calc(100vh - 110px));",
    "  background: #fff; border: 1px solid #d0d7e2; border-radius: 12px; box-shadow: 0 12px 32px rgba(0,0,0,.22);",
    "  overflow: hidden; text-align: start; }",
    ".head { display: flex; align-items: center; justify-content: space-between; padding: 12px 16px;",
    "  background: #1f5eff; color: #fff; }",
    ".head h2 { margin: 0; font-size: 17px; font-weight: 600; }",
    ".close { background: transparent; border: 0; color: #fff; font-size: 22px; line-height: 1; cursor: pointer;",
    "  padding: 4px 8px; }",
    ".body { flex: 1 1 auto; min-height: 0; padding: 14px 16px 16px; overflow-y: auto; display: block; }",
    "form.search { display: flex; gap: 8px; }",
    "label { display: block; font-weight: 600; margin: 0 0 6px; }",
    "input, textarea { display: block; width: 100%; padding: 9px 10px; border: 1px solid #98a2b3;",
    "  border-radius: 8px; background: #fff; }",
    "textarea { min-height: 90px; resize: vertical; }",
    ".btn { padding: 9px 14px; border: 1px solid #1f5eff; border-radius: 8px; background: #1f5eff; color: #fff;",
    "  cursor: pointer; font-weight: 600; white-space: nowrap; }",
    ".btn.secondary { background: #fff; color: #1f5eff; }",
    ".status { margin: 10px 0 0; min-height: 1em; color: #475467; font-size: 14px; }",
    ".status.error { color: #b42318; }",
    "ul.results { list-style: none; margin: 8px 0 0; padding: 0; display: block; }",
    "ul.results li { display: block; margin: 0; padding: 0; }",
    ".result { display: block; width: 100%; text-align: start; background: #fff; border: 0;",
    "  border-bottom: 1px solid #eaecf0; padding: 10px 4px; cursor: pointer; }",
    ".result:hover { background: #f2f6ff; }",
    ".result .title { display: block; font-weight: 600; color: #1f5eff; }",
    ".result .snippet { display: block; font-size: 13px; color: #475467; margin-top: 2px; }",
    // The article's language, where it is not the question's (no translation in it exists).
    ".lang { display: inline-block; margin: 4px 0 0; padding: 1px 8px; border: 1px solid #b2bccc;",
    "  border-radius: 999px; background: #f2f4f7; color: #344054; font-size: 12px; font-weight: 600; }",
    ".article .lang { margin: 0 0 8px; }",
    ".article h3 { font-size: 17px; margin: 10px 0 8px; }",
    ".article .text p { margin: 0 0 10px; white-space: pre-line; }",
    ".link { background: none; border: 0; padding: 0; color: #1f5eff; cursor: pointer; text-decoration: underline; }",
    ".vote { margin-top: 14px; padding-top: 12px; border-top: 1px solid #eaecf0; }",
    ".vote p { margin: 0 0 8px; font-weight: 600; }",
    ".row { display: flex; gap: 8px; flex-wrap: wrap; }",
    ".ticket { margin-top: 12px; }",
    ".ticket .field { margin: 0 0 10px; }",
    ".notice { margin: 12px 0 0; padding: 10px 12px; border-radius: 8px; background: #f2f6ff; }",
    // Contact support stays in view under every list, article and answer: a person is always one click away.
    ".foot { flex: none; padding: 10px 16px; border-top: 1px solid #eaecf0; background: #f9fafb; }",
    ".foot .btn { width: 100%; }",
    ".sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0);",
    "  white-space: nowrap; }"
  ].join("\n");

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") { node.textContent = attrs[name]; }
      else if (name === "hidden") { node.hidden = !!attrs[name]; }
      else if (name.indexOf("on") === 0) { node.addEventListener(name.slice(2), attrs[name]); }
      else { node.setAttribute(name, attrs[name]); }
    });
    (children || []).forEach(function (child) { if (child) { node.appendChild(child); } });
    return node;
  }

  // A constructed stylesheet: allowed by a host page's CSP without 'unsafe-inline' (a <style> is not).
  var style = null;
  try {
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    shadow.adoptedStyleSheets = [sheet];
  } catch (e) {
    style = el("style", { text: CSS });  // browsers without constructable stylesheets
  }
  var root = el("div", { "class": "root", part: "root" });
  var launcher = el("button", { "class": "launcher", type: "button", "aria-expanded": "false",
    "aria-controls": "pd-panel", onclick: function () { toggle(); } });
  var panel = el("section", { "class": "panel", id: "pd-panel", role: "dialog", "aria-modal": "false",
    "aria-labelledby": "pd-title", hidden: true });
  var title = el("h2", { id: "pd-title" });
  var closeBtn = el("button", { "class": "close", type: "button", text: "×", onclick: function () { toggle(false); } });
  var searchLabel = el("label", { "for": "pd-q", id: "pd-q-label" });
  var input = el("input", { id: "pd-q", type: "search", dir: "auto", autocomplete: "off", maxlength: "2000",
    "aria-controls": "pd-results", "aria-describedby": "pd-status" });
  var searchBtn = el("button", { "class": "btn", type: "submit" });
  var searchForm = el("form", { "class": "search", role: "search", "aria-labelledby": "pd-q-label" },
    [input, searchBtn]);
  var status = el("p", { "class": "status", id: "pd-status", role: "status", "aria-live": "polite" });
  var resultsHeading = el("p", { "class": "sr-only", id: "pd-results-label" });
  var results = el("ul", { "class": "results", id: "pd-results", "aria-labelledby": "pd-results-label" });
  var contactBtn = el("button", { "class": "btn secondary", type: "button", id: "pd-contact",
    onclick: function () { showTicketForm(); } });
  var foot = el("div", { "class": "foot" }, [contactBtn]);
  var searchView = el("div", { "class": "search-view" }, [searchLabel, searchForm, status, resultsHeading, results]);
  var articleView = el("article", { "class": "article", hidden: true, "aria-labelledby": "pd-article-title" });
  var ticketView = el("div", { "class": "ticket", hidden: true });
  var body = el("div", { "class": "body" }, [searchView, articleView, ticketView]);
  panel.appendChild(el("div", { "class": "head" }, [title, closeBtn]));
  panel.appendChild(body);
  panel.appendChild(foot);
  root.appendChild(launcher);
  root.appendChild(panel);
  if (style) { shadow.appendChild(style); }
  shadow.appendChild(root);

  function applyLanguage() {
    root.setAttribute("lang", state.lang);
    root.setAttribute("dir", dirOf(state.lang));
    launcher.textContent = t("launcher");
    title.textContent = t("title");
    closeBtn.setAttribute("aria-label", t("close"));
    searchLabel.textContent = t("searchLabel");
    input.setAttribute("placeholder", t("placeholder"));
    searchBtn.textContent = t("search");
    resultsHeading.textContent = t("suggestions");
    contactBtn.textContent = t("contact");
  }

  // --- talking to the API ------------------------------------------------------------------------
  function call(method, path, payload) {
    var url = apiBase + path;
    var options = { method: method, mode: "cors", credentials: "omit", headers: {} };
    if (method === "GET" && payload) {
      url += "?" + new URLSearchParams(payload).toString();
    } else if (payload) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(payload);
    }
    return fetch(url, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var err = new Error(data.error || ("HTTP " + response.status));
          err.status = response.status; err.code = data.error; err.data = data;
          throw err;
        }
        return data;
      });
    });
  }

  // A random id kept on this browser, so a ticket filed on a later visit cancels an implicit deflection.
  function visitorId() {
    var id = "";
    try {
      id = localStorage.getItem("polyglot-desk-visitor") || "";
      if (!id) {
        id = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Math.random()).slice(2) + Date.now();
        localStorage.setItem("polyglot-desk-visitor", id);
      }
    } catch (e) { id = ""; }
    return id;
  }

  // One session per visit: concurrent callers share the pending request (opening the panel and a quick
  // first question must not start two sessions and split the journey).
  function ensureSession(fresh) {
    if (!fresh && state.pending) { return state.pending; }
    if (!fresh) {
      try { state.session = state.session || sessionStorage.getItem(storageKey); } catch (e) { state.session = null; }
      if (state.session) { return (state.pending = Promise.resolve(state.session)); }
    }
    var started = { language: navigator.language || "", visitor_id: visitorId() };
    state.pending = call("POST", "sessions/", started).then(function (data) {
      state.session = data.session;
      if (data.max_query_chars) { input.setAttribute("maxlength", String(data.max_query_chars)); }
      try { sessionStorage.setItem(storageKey, data.session); } catch (e) { /* private mode */ }
      return data.session;
    }, function (err) { state.pending = null; throw err; });
    return state.pending;
  }

  // Calls that belong to the session; a stale stored session is replaced once.
  function sessionCall(path, payload) {
    return ensureSession().then(function (id) {
      return call("POST", path, Object.assign({ session: id }, payload)).catch(function (err) {
        if (err.code !== "unknown_session") { throw err; }
        return ensureSession(true).then(function (fresh) {
          return call("POST", path, Object.assign({}, payload, { session: fresh }));
        });
      });
    });
  }

  function showError(err) {
    var key = err && err.status === 429 ? "tooMany" : (err && err.code === "query_too_long" ? "tooLong" : "error");
    status.textContent = t(key);
    status.className = "status error";
  }
  function setStatus(text) { status.textContent = text; status.className = "status"; }

  // --- views -------------------------------------------------------------------------------------
  function show(view) {
    searchView.hidden = view !== "search";
    articleView.hidden = view !== "article";
    ticketView.hidden = view !== "ticket";
    foot.hidden = view === "ticket";  // the form is what it leads to
  }
  // With no good answer, contacting support is the way forward: the footer's button becomes the primary one.
  function emphasiseContact(on) { contactBtn.className = on ? "btn" : "btn secondary"; }

  // The name of an article's language in the widget's UI language ("inglés" in a Spanish widget), from
  // the browser's own CLDR data: no translated strings needed.
  function languageName(tag) {
    var name = "";
    try { name = new Intl.DisplayNames([state.lang, "en"], { type: "language" }).of(tag) || ""; } catch (e) { name = ""; }
    if (!name || name.toLowerCase() === String(tag).toLowerCase()) { return String(tag); }
    return name.charAt(0).toLocaleUpperCase(state.lang) + name.slice(1);  // a label: "Inglés", "Anglais"
  }
  // A badge naming the language of an article shown in another language than the question's. Inside
  // the result button it is part of the button's name, so screen readers say it with the title.
  function languageBadge(item, id) {
    if (!item.other_language) { return null; }
    var attrs = { "class": "lang", lang: state.lang, dir: dirOf(state.lang), "data-locale": item.locale,
      text: languageName(item.locale) };
    if (id) { attrs.id = id; }
    return el("span", attrs);
  }

  function renderResults(items, recorded) {
    state.results = items;
    results.textContent = "";
    items.forEach(function (item) {
      var button = el("button", { "class": "result", type: "button", dir: item.dir || "auto", lang: item.locale,
        onclick: function () { openArticle(item, button); } },
        [el("span", { "class": "title", text: item.title }), languageBadge(item),
         el("span", { "class": "snippet", text: item.snippet })]);
      results.appendChild(el("li", {}, [button]));
    });
    if (recorded) {
      setStatus(items.length === 1 ? t("foundOne") : t("found", items.length));
    }
  }

  function noAnswer() {
    results.textContent = "";
    state.results = [];
    setStatus(t("noAnswer"));
    emphasiseContact(true);
  }

  function suggestAsYouType() {
    var text = input.value.trim();
    clearTimeout(state.timer);
    if (text.length < 3) { return; }
    state.timer = setTimeout(function () {
      var seq = ++state.seq;
      call("GET", "suggest/", { q: text, locale: state.lang }).then(function (data) {
        if (seq !== state.seq || input.value.trim() !== text) { return; }
        renderResults(data.results || [], false);
      }).catch(function (err) { if (err.status === 429 || err.code === "query_too_long") { showError(err); } });
    }, DEBOUNCE_MS);
  }

  // The question is recorded once per text: on submit, or when a suggestion shown while typing is opened.
  function ask(text) {
    clearTimeout(state.timer);
    var seq = ++state.seq;
    if (state.lastRecorded && state.lastRecorded.text === text) { return Promise.resolve(state.lastRecorded.data); }
    setStatus(t("searching"));
    emphasiseContact(false);
    return sessionCall("queries/", { q: text }).then(function (data) {
      state.query = text;
      state.lastRecorded = { text: text, data: data };
      if (supported(data.language)) { state.lang = supported(data.language); applyLanguage(); }
      root.setAttribute("dir", data.dir || dirOf(state.lang));
      if (seq === state.seq) {
        if (data.no_answer) { noAnswer(); } else { renderResults(data.results, true); }
      }
      return data;
    });
  }

  function openArticle(item, opener) {
    var text = input.value.trim();
    ask(text).then(function (data) {
      // The typed-ahead item was shown above the threshold; open it even if the recorded run ranked differently.
      var recorded = (data.results || []).filter(function (r) { return r.article_id === item.article_id; })[0];
      return sessionCall("articles/" + item.article_id + "/", { suggestion_id: recorded ? recorded.suggestion_id : "" });
    }).then(function (article) {
      if (!article) { return; }
      state.article = article;
      state.opener = opener;
      renderArticle(article, item.other_language);
    }).catch(showError);
  }

  function renderArticle(article, otherLanguage) {
    articleView.textContent = "";
    var heading = el("h3", { id: "pd-article-title", tabindex: "-1", dir: article.dir, lang: article.locale,
      text: article.title });
    // Said after the title when the heading takes focus.
    var badge = languageBadge({ other_language: otherLanguage, locale: article.locale }, "pd-article-lang");
    if (badge) { heading.setAttribute("aria-describedby", "pd-article-lang"); }
    var text = el("div", { "class": "text", dir: article.dir, lang: article.locale });
    String(article.body || "").split(/\n\s*\n/).forEach(function (para) {
      if (para.trim()) { text.appendChild(el("p", { text: para.trim() })); }
    });
    var voteStatus = el("p", { role: "status", "aria-live": "polite", "class": "vote-result" });
    var question = el("p", { id: "pd-vote-q", text: t("helpfulQuestion") });
    var yes = el("button", { "class": "btn", type: "button", text: t("yes"), onclick: function () { vote(true); } });
    var no = el("button", { "class": "btn secondary", type: "button", text: t("no"),
      onclick: function () { vote(false); } });
    var voteBox = el("div", { "class": "vote", role: "group", "aria-labelledby": "pd-vote-q" },
      [question, el("div", { "class": "row" }, [yes, no]), voteStatus]);
    var back = el("button", { "class": "link", type: "button", text: t("back"), onclick: function () {
      show("search");
      (state.opener && state.opener.isConnected ? state.opener : input).focus();
    } });
    articleView.appendChild(back);
    articleView.appendChild(heading);
    if (badge) { articleView.appendChild(badge); }
    articleView.appendChild(text);
    articleView.appendChild(voteBox);
    show("article");
    heading.focus();

    function vote(helpful) {
      yes.disabled = no.disabled = true;
      sessionCall("votes/", { helpful: helpful, article_id: article.article_id }).then(function () {
        if (helpful) {
          voteBox.replaceChildren(el("p", { "class": "notice", role: "status", text: t("thanks") }));
          voteBox.firstChild.setAttribute("tabindex", "-1");
          voteBox.firstChild.focus();
        } else {
          showTicketForm();
        }
      }).catch(function (err) { yes.disabled = no.disabled = false; voteStatus.textContent = t(err.status === 429 ? "tooMany" : "error"); });
    }
  }

  function field(id, labelKey, control) {
    return el("div", { "class": "field" }, [el("label", { "for": id, text: t(labelKey) }), control]);
  }

  function showTicketForm() {
    ticketView.textContent = "";
    var intro = el("p", { id: "pd-ticket-intro", tabindex: "-1", text: t("ticketIntro") });
    var email = el("input", { id: "pd-email", type: "email", name: "email", required: "required",
      autocomplete: "email" });
    var name = el("input", { id: "pd-name", type: "text", name: "name", autocomplete: "name", maxlength: "200" });
    var message = el("textarea", { id: "pd-message", name: "message", dir: "auto", maxlength: "5000" });
    message.value = state.query || input.value.trim();
    var formStatus = el("p", { "class": "status", role: "status", "aria-live": "polite" });
    var form = el("form", { "class": "ticket-form", novalidate: "novalidate", "aria-labelledby": "pd-ticket-intro" }, [
      field("pd-email", "email", email), field("pd-name", "name", name), field("pd-message", "message", message),
      el("button", { "class": "btn", type: "submit", text: t("send") }), formStatus]);
    var back = el("button", { "class": "link", type: "button", text: t("back"), onclick: function () {
      show("search"); input.focus();
    } });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!email.value.trim() || !email.checkValidity()) {
        email.setAttribute("aria-invalid", "true");
        formStatus.textContent = t("invalidEmail");
        formStatus.className = "status error";
        email.focus();
        return;
      }
      email.removeAttribute("aria-invalid");
      sessionCall("tickets/", { email: email.value.trim(), name: name.value.trim(), message: message.value.trim() })
        .then(function () {
          var done = el("p", { "class": "notice", role: "status", tabindex: "-1", text: t("sent") });
          ticketView.replaceChildren(done);
          done.focus();
        }).catch(function (err) {
          formStatus.className = "status error";
          formStatus.textContent = err.data && err.data.fields && err.data.fields.email ? t("invalidEmail")
            : t(err.status === 429 ? "tooMany" : "error");
        });
    });
    ticketView.appendChild(back);
    ticketView.appendChild(intro);
    ticketView.appendChild(form);
    show("ticket");
    intro.focus();
  }

  // --- open / close and keyboard -------------------------------------------------------------------
  function toggle(open) {
    var opening = open === undefined ? panel.hidden : open;
    panel.hidden = !opening;
    launcher.setAttribute("aria-expanded", String(opening));
    if (opening) {
      show(searchView.hidden && articleView.hidden && ticketView.hidden ? "search" : currentView());
      if (!searchView.hidden) { input.focus(); }
      ensureSession().catch(showError);
    } else {
      launcher.focus();
    }
  }
  function currentView() { return !articleView.hidden ? "article" : (!ticketView.hidden ? "ticket" : "search"); }

  searchForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) { input.focus(); return; }
    state.lastRecorded = null;
    ask(text).catch(showError);
  });
  input.addEventListener("input", function () { emphasiseContact(false); suggestAsYouType(); });
  input.addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown" && results.firstChild) { event.preventDefault(); results.querySelector("button").focus(); }
  });
  results.addEventListener("keydown", function (event) {
    var buttons = Array.prototype.slice.call(results.querySelectorAll("button"));
    var index = buttons.indexOf(shadow.activeElement);
    if (event.key === "ArrowDown" && index < buttons.length - 1) { event.preventDefault(); buttons[index + 1].focus(); }
    if (event.key === "ArrowUp") { event.preventDefault(); (index > 0 ? buttons[index - 1] : input).focus(); }
  });
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { event.preventDefault(); toggle(false); }
  });

  function mount() { (document.body || document.documentElement).appendChild(host); }
  // The launcher appears once its words are known: one small cached file, the same for every site.
  fetch(apiOrigin + "/desk/widget/v1/catalog.json", { mode: "cors", credentials: "omit" }).then(function (response) {
    return response.ok ? response.json() : null;
  }).then(function (catalog) {
    if (catalog && catalog.languages) { CATALOG = catalog; }
  }).catch(function () { /* English it is */ }).then(function () {
    state.lang = uiLanguage();
    applyLanguage();
    if (document.body) { mount(); } else { document.addEventListener("DOMContentLoaded", mount); }
  });
  window.__polyglotDeskWidget = { host: host, open: function () { toggle(true); } };
})();
