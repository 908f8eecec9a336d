// The gemeente-app's only script: filter, sort and save in place. No data leaves the
// page except to this app (POST, same origin); nothing is kept in browser storage.
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
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  const search = document.getElementById("zoek");
  const status = document.getElementById("filter-status");
  const onlyNew = document.getElementById("filter-nieuw");
  const count = document.getElementById("telling");
  const fold = (text) => text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();

  function filter() {
    const wanted = fold(search.value.trim());
    let shown = 0;
    for (const row of rows) {
      const text = fold(row.dataset.naam + " " + row.dataset.gemeente);
      const visible = (!wanted || text.includes(wanted))
        && (!status.value || row.dataset.status === status.value)
        && (!onlyNew.checked || row.dataset.nieuw === "1");
      row.hidden = !visible;
      if (visible) shown += 1;
    }
    count.textContent = shown + " / " + rows.length;
  }
  document.getElementById("zoekformulier").addEventListener("submit", (event) => {
    event.preventDefault();
    filter();
  });
  search.addEventListener("input", filter);
  status.addEventListener("change", filter);
  onlyNew.addEventListener("change", filter);

  for (const button of table.querySelectorAll("button.sort")) {
    button.addEventListener("click", () => {
      const key = button.dataset.key;
      const header = button.closest("th");
      const ascending = header.getAttribute("aria-sort") !== "ascending";
      for (const other of table.querySelectorAll("thead th[aria-sort]")) {
        other.setAttribute("aria-sort", "none");
      }
      header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      const sorted = rows.slice().sort((a, b) => {
        const order = a.dataset[key].localeCompare(b.dataset[key], "nl");
        return ascending ? order : -order;
      });
      body.append(...sorted);
    });
  }

  for (const select of table.querySelectorAll("select.status")) {
    select.addEventListener("change", () => {
      const mark = select.nextElementSibling;
      const data = new FormData();
      data.set(select.name, select.value);
      mark.textContent = "…";
      post(document.getElementById("statussen").action, data).then((answer) => {
        mark.textContent = answer.message;
        mark.classList.toggle("bad", !answer.ok);
        if (answer.ok) select.closest("tr").dataset.status = select.value;
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
