// The gemeente-app's only script: a status saved in place, the report dialog. No data
// leaves the page except to this app (POST, same origin); nothing is kept in storage.
"use strict";
document.documentElement.classList.add("js");

function csrfToken() {
  const field = document.querySelector('input[name="csrf"]');
  return field ? field.value : "";
}

function post(url, data) {
  data.set("csrf", csrfToken());
  return fetch(url, {
    method: "POST",
    body: data,
    credentials: "same-origin",
    headers: { "Accept": "application/json", "X-CSRF-Token": csrfToken() },
  }).then((response) => response.json());
}

function peoplePage() {
  const table = document.getElementById("mensen");
  if (!table) return;
  // Search, filter, order and paging are the server's (one page of rows at a time),
  // applied by the search button: a filter that reloaded the page on every arrow key
  // would lose a keyboard user's place.

  for (const select of table.querySelectorAll("select.status")) {
    select.addEventListener("change", () => {
      const mark = select.nextElementSibling;
      const data = new FormData();
      data.set(select.name, select.value);
      mark.textContent = "…";
      post(document.getElementById("statussen").action, data).then((answer) => {
        mark.textContent = answer.message;
        mark.classList.toggle("bad", !answer.ok);
        if (answer.ok) select.dataset.was = select.value;
      }).catch(() => {
        mark.textContent = "!";
        mark.classList.add("bad");
      });
    });
  }

  const dialog = document.getElementById("melding");
  let opener = null;
  for (const button of table.querySelectorAll("button.report")) {
    button.addEventListener("click", () => {
      opener = button;
      document.getElementById("melding-record").value = button.dataset.record;
      document.getElementById("melding-persoon").textContent = button.dataset.name;
      dialog.showModal();
      document.getElementById("melding-veld").focus();
    });
  }
  document.getElementById("melding-annuleer").addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => { if (opener) opener.focus(); });
}

document.addEventListener("DOMContentLoaded", peoplePage);
