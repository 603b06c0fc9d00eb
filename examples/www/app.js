// The example site's script: fills the feature table from data.json and
// drives the form that talks to the --echo endpoint. No dependencies.
"use strict";

function cell(text, tag = "td") {
  const element = document.createElement(tag);
  element.textContent = text; // textContent: never parsed as HTML
  return element;
}

async function loadFeatures() {
  const body = document.querySelector("#features tbody");
  try {
    const response = await fetch("data.json", { cache: "no-cache" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const data = await response.json();
    body.replaceChildren(...data.features.map((feature) => {
      const row = document.createElement("tr");
      row.append(cell(feature.name), cell(feature.try));
      return row;
    }));
  } catch (error) {
    body.replaceChildren(cell(`could not load data.json: ${error.message}`));
  }
}

async function sendEcho(event) {
  event.preventDefault();
  const form = event.target;
  const output = document.getElementById("echo-result");
  const method = form.method.value;
  const query = form.query.value.trim();
  const init = { method, headers: { "X-Example": "evtool www" } };
  if (method !== "GET" && method !== "DELETE") init.body = form.body.value;
  output.textContent = "…";
  try {
    const response = await fetch("/echo" + (query ? "?" + query : ""), init);
    if (response.status === 404) {
      output.textContent = "404: start the server with --echo /echo to enable this endpoint.";
      return;
    }
    const description = await response.json();
    output.textContent = JSON.stringify(description, null, 2);
  } catch (error) {
    output.textContent = `request failed: ${error.message}`;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  loadFeatures();
  document.getElementById("echo-form").addEventListener("submit", sendEcho);
});
