// FARM demo page: pick a model, type an input, see its predictions. Plain JavaScript, no
// build step, no external resources. Text from users and models is only ever set as
// textContent, never parsed as HTML.
"use strict";

(function () {
  // Input dicts per form (the form names of farm/serve/tasks.py).
  const FORMS = {
    text: () => [{ text: value("text") }],
    text_pair: () => [{ text: value("pair-text"), text_b: value("pair-text-b") }],
    qa: () => [{ questions: lines("question"), text: value("context") }],
    ranking: () => [{ query: value("query"), passages: lines("passages") }],
    // A dense retriever: a query alone gives its vector, passages alone theirs.
    retrieval: () => {
      const query = value("query");
      const passages = lines("passages");
      if (!passages.length && query.trim()) return [{ query }];
      if (!query.trim() && passages.length) return [{ passages }];
      return [{ query, passages }];
    },
  };

  // Renderers per head task type: (prediction, task info, input dict) -> element.
  const RENDERERS = {
    text_classification: renderClassification,
    multilabel_text_classification: renderMultilabel,
    regression: renderRegression,
    ner: renderEntities,
    embeddings: renderEmbedding,
    qa: renderAnswers,
    question_answering: renderAnswers,
    passage_ranking: renderRanking,
    text_similarity: renderRetrieval,
  };

  // Task types in words, for the model description.
  const TASK_WORDS = {
    text_classification: "text classification",
    multilabel_text_classification: "multi-label classification",
    regression: "regression",
    ner: "named entities",
    embeddings: "text vectors",
    qa: "question answering",
    question_answering: "question answering",
    passage_ranking: "passage ranking",
    text_similarity: "dense retrieval",
  };

  // Entity types in words (CoNLL's four); other tags are shown as they are.
  const ENTITY_WORDS = { PER: "person", LOC: "location", ORG: "organisation", MISC: "other" };

  // Example inputs per task (of the model's first head), else per form: [label, fields].
  const EXAMPLES = {
    text_classification: [
      ["Praise", { text: "A warm, clever film with a wonderful cast." }],
      ["Complaint", { text: "The soup was cold and the waiter was rude." }],
    ],
    multilabel_text_classification: [
      ["Mixed", { text: "Thanks so much, this made my day, although the ending was sad." }],
    ],
    regression: [["Review", { text: "Decent food, slow service, fair prices." }]],
    ner: [
      ["News", { text: "Angela Merkel met Emmanuel Macron in Paris on Monday." }],
      ["Business", { text: "Tim Cook announced that Apple will open an office in Berlin." }],
    ],
    embeddings: [["Sentence", { text: "The cat sat on the mat." }]],
    text_pair: [
      ["Paraphrase", { "pair-text": "The company's profit rose last year.",
        "pair-text-b": "Last year the firm made more money." }],
      ["Unrelated", { "pair-text": "The museum opens at nine.",
        "pair-text-b": "Penguins cannot fly." }],
    ],
    qa: [
      ["FARM", { question: "Who released FARM?\nWhen was it released?",
        context: "FARM was released by deepset in 2019. It was archived in 2024 and its " +
          "ideas live on in Haystack." }],
      ["Museum", { question: "When does the museum open?",
        context: "The city museum opens at nine in the morning and closes at six. Entry is " +
          "free on Sundays." }],
    ],
    ranking: [
      ["Food", { query: "how is the food in paris",
        passages: "The food in Berlin is hearty.\nParis is known for its bistros and " +
          "bakeries.\nThe park closes at dusk." }],
    ],
    retrieval: [
      ["Food", { query: "how is the food in paris",
        passages: "The food in Berlin is hearty.\nParis is known for its bistros and " +
          "bakeries.\nThe park closes at dusk." }],
    ],
  };

  let models = [];

  function $(id) { return document.getElementById(id); }
  function value(id) { return $(id).value; }
  // The non-blank lines of a text area (questions, passages).
  function lines(id) { return value(id).split("\n").filter((line) => line.trim()); }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, val] of Object.entries(attrs || {})) {
      if (key === "class") node.className = val;
      else if (key === "style") node.style.cssText = val;
      else node.setAttribute(key, val);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function percent(p) { return (100 * p).toFixed(1) + "%"; }

  function currentModel() {
    return models.find((m) => String(m.id) === $("model").value);
  }

  function showForm(name) {
    for (const part of document.querySelectorAll(".form-part")) {
      part.hidden = !part.dataset.form.split(" ").includes(name);
    }
  }

  function taskWords(task) { return TASK_WORDS[task] || task; }

  function describe(model) {
    const tasks = model.tasks.map((t) => taskWords(t.task)).join(", ");
    const labels = model.labels && !isTagging(model) ? " · labels: " + model.labels.join(", ")
      : "";
    return capitalize(tasks) + labels + (model.language ? " · " + model.language : "");
  }

  function capitalize(text) { return text.charAt(0).toUpperCase() + text.slice(1); }

  function isTagging(model) { return model.tasks.some((t) => t.task === "ner"); }

  // "B-PER" -> "PER": the entity type of a tag (IOB/IOBES prefixes dropped).
  function entityType(tag) { return String(tag).replace(/^[BIESLU]-/, ""); }
  function entityWord(tag) {
    const type = entityType(tag);
    return ENTITY_WORDS[type] || type;
  }

  function examplesFor(model, formName) {
    return EXAMPLES[model.tasks[0].task] || EXAMPLES[formName] || [];
  }

  // Buttons that fill the form with an example input of this model's task.
  function showExamples(model, formName) {
    const examples = examplesFor(model, formName);
    $("examples").hidden = !examples.length;
    $("example-buttons").replaceChildren(...examples.map(([label, fields]) => {
      const button = el("button", { type: "button", class: "example" }, label);
      button.addEventListener("click", () => {
        for (const [id, text] of Object.entries(fields)) $(id).value = text;
      });
      return button;
    }));
  }

  async function loadModels() {
    const response = await fetch("/models");
    models = await response.json();
    const select = $("model");
    select.replaceChildren(...models.map((m) => el("option", { value: String(m.id) },
      m.id + ": " + m.name)));
    onModelChange();
  }

  function onModelChange() {
    const model = currentModel();
    if (!model) return;
    const formName = model.form.name in FORMS ? model.form.name : "text";
    $("model-info").textContent = describe(model);
    document.title = model.name + " · FARM demo";
    showForm(formName);
    showExamples(model, formName);
    $("output").hidden = true;
  }

  async function predict(event) {
    event.preventDefault();
    const model = currentModel();
    if (!model) return;
    const formName = model.form.name in FORMS ? model.form.name : "text";
    const inputs = FORMS[formName]();
    const button = $("predict");
    button.disabled = true;
    $("status").textContent = "Predicting…";
    const started = performance.now();
    try {
      const response = await fetch("/models/" + model.id + "/inference", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ input: inputs }),
      });
      const body = await response.json();
      if (!response.ok) {
        showError(body);
        $("status").textContent = "";
      } else {
        renderResults(body, model, inputs[0]);
        $("status").textContent = "Done in " + Math.round(performance.now() - started) + " ms";
      }
    } catch (error) {
      showError({ detail: String(error) });
      $("status").textContent = "";
    } finally {
      button.disabled = false;
    }
  }

  function showError(body) {
    $("output").hidden = false;
    $("result").replaceChildren();
    const box = $("error");
    box.hidden = false;
    const lines = (body.errors || []).map((e) => e.loc + ": " + e.msg);
    box.textContent = body.detail && lines.length ? lines.join("\n") : (body.detail || "Error");
  }

  // One section per head with each of its predictions: the demo sends one input, which
  // gives one prediction, or one per question for QA.
  function renderResults(results, model, input) {
    $("output").hidden = false;
    $("error").hidden = true;
    const sections = results.map((result) => {
      const task = model.tasks.find((t) => t.task_name === result.task_name) || {};
      const render = RENDERERS[result.task] || renderRaw;
      return el("div", { class: "head-result", "data-task": result.task },
        el("h2", {}, capitalize(taskWords(result.task)), " ",
          el("span", { class: "task" }, "(" + result.task_name + ")")),
        ...result.predictions.map((prediction) => render(prediction, task, input)));
    });
    $("result").replaceChildren(...sections);
  }

  function bars(rows) {
    return el("div", { class: "bars" }, ...rows.map((row) =>
      el("div", { class: "bar-row" + (row.mark ? " " + row.mark : ""), "data-label": row.label },
        el("span", { class: "bar-label" }, row.label),
        el("div", { class: "bar-track" },
          el("div", { class: "bar-fill", style: "width: " + percent(row.p) })),
        el("span", { class: "bar-value" }, percent(row.p)))));
  }

  function renderClassification(pred, task) {
    const labels = task.labels || [pred.label];
    const probs = pred.probabilities ||
      labels.map((l) => (l === pred.label ? pred.probability : 0));
    const rows = labels.map((label, i) => ({
      label, p: probs[i], mark: label === pred.label ? "top" : "" }));
    return el("div", { class: "classification" },
      el("p", { class: "prediction" }, el("span", { class: "label" }, pred.label),
        el("span", { class: "score" }, percent(pred.probability))),
      bars(rows));
  }

  function renderMultilabel(pred, task) {
    const labels = task.labels || pred.label;
    const chosen = new Set(pred.label);
    const rows = labels.map((label, i) => ({
      label, p: pred.probabilities[i], mark: chosen.has(label) ? "chosen" : "" }));
    const threshold = task.pred_threshold !== undefined && task.pred_threshold !== null
      ? "labels from " + percent(task.pred_threshold) + " on are predicted" : "";
    return el("div", { class: "multilabel" },
      el("p", { class: "prediction" }, el("span", { class: "label" },
        pred.label.length ? pred.label.join(", ") : "no label")),
      bars(rows), el("p", { class: "threshold" }, threshold));
  }

  function renderRegression(pred) {
    return el("p", { class: "prediction regression" },
      el("span", { class: "label" }, Number(pred.pred).toFixed(4)));
  }

  // The characters [start, end) of text. The server's offsets count Unicode code points
  // (Python's string indices); JavaScript's count UTF-16 units, which differ from the first
  // character outside the Basic Multilingual Plane (e.g. an emoji) on.
  function slice(chars, start, end) { return chars.slice(start, end).join(""); }

  // The input text with each [start, end) span wrapped in a <mark>.
  function highlight(text, spans, make) {
    const chars = Array.from(text);
    const parts = [];
    let at = 0;
    for (const span of [...spans].sort((a, b) => a.start - b.start)) {
      if (span.start < at) continue;
      parts.push(slice(chars, at, span.start), make(span, slice(chars, span.start, span.end)));
      at = span.end;
    }
    parts.push(slice(chars, at));
    return el("p", { class: "highlighted" }, ...parts);
  }

  // NER: the text with each entity marked and named in words, a legend of the model's
  // entity types, and the list of entities.
  function renderEntities(entities, task, input) {
    const text = input.text || "";
    const legend = entityLegend(task.labels || (entities || []).map((e) => e.label));
    if (!entities || !entities.length) {
      return el("div", {}, legend, el("p", { class: "highlighted" }, text),
        el("p", { class: "none" }, "No entities found."));
    }
    return el("div", { class: "entities" }, legend,
      highlight(text, entities, (e, slice) => el("mark", {
        class: "entity", "data-label": e.label, "data-type": entityType(e.label),
        title: entityWord(e.label) + " (" + e.label + ") " + percent(e.probability),
      }, slice, el("span", { class: "tag" }, entityWord(e.label)))),
      el("ul", { class: "entity-list" }, ...entities.map((e) =>
        el("li", {}, e.context + " — " + entityWord(e.label) + " (" +
          percent(e.probability) + ")"))));
  }

  // The entity types among the tags ("O" is no entity), each with its colour and word.
  function entityLegend(tags) {
    const types = [...new Set(tags.filter((t) => t !== "O").map(entityType))];
    return el("p", { class: "legend" }, ...types.map((type) => el("span", {
      class: "legend-item", "data-type": type },
    el("mark", { class: "swatch", "data-type": type }, type),
    " " + (ENTITY_WORDS[type] || type))));
  }

  function renderEmbedding(pred) {
    const vec = pred.vec;
    const flat = Array.isArray(vec[0]) ? vec.flat() : vec;
    const norm = Math.sqrt(flat.reduce((s, x) => s + x * x, 0));
    const size = Array.isArray(vec[0]) ? vec.length + " × " + vec[0].length : String(vec.length);
    return el("div", { class: "embedding" },
      el("p", {}, "Vector of size " + size + ", norm " + norm.toFixed(4)),
      el("p", { class: "vector" }, "[" + flat.slice(0, 8).map((x) => x.toFixed(4)).join(", ") +
        (flat.length > 8 ? ", …" : "") + "]"));
  }

  // QA: the top answer highlighted in the context, then every answer with its score.
  function renderAnswers(pred, task, input) {
    const text = input.text || "";
    const answers = (pred && pred.answers) || [];
    const top = answers[0];
    const parts = [el("p", { class: "question" }, el("strong", {}, "Q: "), pred.question || "")];
    if (!top || !top.answer) {
      parts.push(el("p", { class: "prediction no-answer" }, "No answer in the text",
        top ? el("span", { class: "score" }, "score " + Number(top.score).toFixed(3)) : null));
      parts.push(el("p", { class: "highlighted" }, text));
    } else {
      // Highlighted by its offsets into the text the user typed, never by searching it.
      const start = top.offset_answer_start;
      const end = top.offset_answer_end;
      parts.push(el("p", { class: "prediction" }, el("span", { class: "label" }, top.answer),
        el("span", { class: "score" }, "score " + Number(top.score).toFixed(3) +
          (top.probability !== undefined ? " · probability " + percent(top.probability) : ""))));
      parts.push(highlight(text, [{ start, end }], (span, part) =>
        el("mark", { class: "answer", "data-start": String(start), "data-end": String(end) },
          part)));
      if (slice(Array.from(text), start, end) !== top.answer) {
        parts.push(el("p", { class: "error offsets" }, "The answer's offsets " + start + "–" +
          end + " do not select its text in the context shown."));
      }
    }
    if (answers.length > 1) {
      parts.push(el("ol", { class: "answers" }, ...answers.map((a, i) => el("li",
        { class: i === 0 ? "top" : "", "data-start": String(a.offset_answer_start),
          "data-end": String(a.offset_answer_end) },
        (a.answer || "(no answer)") + " — score " + Number(a.score).toFixed(3)))));
    }
    return el("div", { class: "qa" }, ...parts);
  }

  // Ranking: the passages, best first, with their score (a probability for passage
  // ranking's cross-encoder, a dot product or cosine for a dense retriever).
  function renderRanking(pred, task) {
    const ranking = (pred && pred.ranking) || [];
    const probability = task.task === "passage_ranking";
    const score = (s) => (probability ? percent(s) : Number(s).toFixed(3));
    return el("div", { class: "ranking" },
      el("p", { class: "question" }, el("strong", {}, "Query: "), pred.query || ""),
      el("ol", { class: "ranked" }, ...ranking.map((r, i) => el("li", {
        class: i === 0 ? "top" : "", "data-index": String(r.index) },
      r.title ? el("span", { class: "title" }, r.title + " · ") : null,
      el("span", { class: "text" }, r.text),
      el("span", { class: "score" }, score(r.score))))));
  }

  // Dense retrieval: a ranking, a query's vector, or each passage's vector.
  function renderRetrieval(pred, task) {
    if (pred && pred.ranking) return renderRanking(pred, task);
    if (pred && pred.vec) {
      return el("div", { class: "retrieval" },
        el("p", { class: "question" }, el("strong", {}, "Query: "), pred.query || ""),
        renderEmbedding(pred));
    }
    const passages = (pred && pred.passages) || [];
    return el("div", { class: "retrieval" }, el("ol", { class: "passage-vectors" },
      ...passages.map((p) => el("li", {},
        p.title ? el("span", { class: "title" }, p.title + " · ") : null,
        el("span", { class: "text" }, p.text), renderEmbedding(p)))));
  }

  function renderRaw(pred) {
    return el("pre", {}, JSON.stringify(pred, null, 2));
  }

  window.FARMDemo = { renderResults, showForm, RENDERERS, FORMS };

  document.addEventListener("DOMContentLoaded", () => {
    $("model").addEventListener("change", onModelChange);
    $("form").addEventListener("submit", predict);
    loadModels().catch((error) => showError({ detail: "Cannot list the models: " + error }));
  });
})();
