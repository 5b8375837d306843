// Monitoring: predictions by request id or key, and drift per feature, from the prediction
// log. Until this server writes a prediction log, the page says so.
import { h } from "/console/static/ui.mjs";

export async function render(view) {
  view.append(h("h1", {}, "Monitoring"),
    h("p", { class: "reason", id: "no-prediction-log" },
      "No prediction log: this server does not record its predictions, so there is nothing to search or to compare for drift yet."));
}
