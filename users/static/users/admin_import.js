// The admin's import pages, no build step. The progress page reads the import's status from the
// API every second (with the admin's session) and shows it, until the import has finished. The
// preview's "Rows to fix" form can save one row in place through the API's PATCH of that row;
// without JavaScript its "Save fixes" posts the whole form.
"use strict";

// What the preview's two in-place savers share (its "Rows to fix" and its possible duplicates):
// a row's PATCH through the API, and the summary's counts and message drawn from its answer.
const previewRows = (function () {
  const SUMMARY = {
    to_create: "summary-to-create",
    invalid: "summary-invalid",
    existing_duplicates: "summary-existing-duplicates",
    batch_duplicates: "summary-batch-duplicates",
    possible_duplicates: "summary-possible-duplicates",
    skipped: "summary-skipped",
    to_update: "summary-to-update",
    unchanged: "summary-unchanged",
  };

  // `rowUrl` is the row endpoint for row 0 (the page's data-row-url).
  async function patch(rowUrl, row, csrf, body) {
    const response = await fetch(rowUrl.replace(/\/0\/$/, "/" + row + "/"), {
      method: "PATCH",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRFToken": csrf,
      },
      body: JSON.stringify(body),
    });
    const answer = await response.json();
    if (!response.ok) {
      throw new Error(answer.message || "HTTP " + response.status);
    }
    return answer;
  }

  function showSummary(answer) {
    Object.keys(SUMMARY).forEach(function (name) {
      const cell = document.getElementById(SUMMARY[name]);
      if (cell) {
        // A summary leaves out the counts that are nought in it (skipped, to_update...).
        cell.textContent = String(answer.summary[name] || 0);
      }
    });
    document.getElementById("import-preview-message").textContent = answer.message;
  }

  return { patch: patch, showSummary: showSummary };
})();

(function () {
  const root = document.getElementById("import-job");
  if (!root || root.dataset.finished === "true") {
    return;
  }
  const POLL_MS = 1000;
  const RETRY_MAX_MS = 10000;
  const bar = document.getElementById("import-progress-bar");
  const percent = document.getElementById("import-percent");
  const message = document.getElementById("import-message");
  const counts = root.querySelectorAll("[data-count]");
  const result = document.getElementById("import-result");
  const resultHeading = document.getElementById("import-result-heading");
  const failedRows = document.getElementById("import-failed-rows");
  const failedRowsCount = document.getElementById("import-failed-rows-count");
  let delay = POLL_MS;

  function setText(element, text) {
    // Only on change, so the live region does not repeat itself every second.
    if (element.textContent !== text) {
      element.textContent = text;
    }
  }

  function show(status) {
    bar.value = status.progress_percent;
    setText(bar, status.progress_percent + "%");
    setText(percent, status.progress_percent + "%");
    setText(message, status.message);
    counts.forEach(function (cell) {
      setText(cell, String(status[cell.dataset.count]));
    });
    if (status.is_finished) {
      setText(
        resultHeading,
        status.status === "CANCELLED"
          ? "Import stopped"
          : status.is_failed
            ? "Import failed"
            : "Import complete",
      );
      const stop = document.getElementById("import-stop-form");
      if (stop) {
        stop.hidden = true;
      }
      setText(failedRowsCount, String(status.failed_rows_total));
      failedRows.hidden = status.failed_rows_total === 0;
      result.hidden = false;
      root.dataset.finished = "true";
    }
  }

  async function poll() {
    try {
      const response = await fetch(root.dataset.statusUrl, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      const status = await response.json();
      show(status);
      if (status.is_finished) {
        return;
      }
      delay = POLL_MS;
    } catch (error) {
      setText(message, "Could not read the progress (" + error.message + "); trying again.");
      delay = Math.min(delay * 2, RETRY_MAX_MS);
    }
    window.setTimeout(poll, delay);
  }

  poll();
})();

(function () {
  const form = document.getElementById("import-fix-form");
  if (!form) {
    return;
  }
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;

  function show(tr, answer) {
    const row = answer.row;
    tr.querySelector(".import-row-outcome").textContent = row.outcome.replace("_", " ");
    tr.querySelectorAll("input[data-field]").forEach(function (input) {
      const messages = row.errors
        .filter(function (error) {
          return error.field === input.dataset.field;
        })
        .map(function (error) {
          return error.message;
        });
      const help = document.getElementById(input.getAttribute("aria-describedby"));
      help.textContent = messages.length ? messages.join(" ") : "Fixed.";
      input.defaultValue = input.value;
    });
    previewRows.showSummary(answer);
  }

  async function save(button) {
    const tr = button.closest("tr");
    const row = tr.dataset.row;
    const changed = {};
    tr.querySelectorAll("input[data-field]").forEach(function (input) {
      if (input.value !== input.defaultValue) {
        changed[input.dataset.field] = input.value;
      }
    });
    const skip = tr.querySelector("input[type=checkbox]");
    const asked = [];
    if (Object.keys(changed).length) {
      asked.push(changed);
    }
    if (skip.checked !== skip.defaultChecked) {
      asked.push({ action: skip.checked ? "skip" : "include" });
    }
    button.disabled = true;
    try {
      for (const body of asked) {
        show(tr, await previewRows.patch(form.dataset.rowUrl, row, csrf, body));
      }
      skip.defaultChecked = skip.checked;
    } catch (error) {
      tr.querySelector(".import-row-outcome").textContent = "not saved: " + error.message;
    }
    button.disabled = false;
  }

  form.querySelectorAll(".import-fix-save").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      save(button);
    });
  });
})();

(function () {
  // The possible duplicates' table: a row's choice (Create anyway, Update customer #N, Skip)
  // saved in place through the API's PATCH of that row; without JavaScript each button posts
  // its form to the admin's page, which is drawn again.
  const table = document.getElementById("import-possible-duplicates");
  const forms = table ? table.querySelectorAll("form.import-choice-form") : [];
  if (!forms.length) {
    return;
  }
  const csrf = forms[0].querySelector("input[name=csrfmiddlewaretoken]").value;
  // As users/admin/possible_duplicates.py says a row's state.
  const OUTCOMES = {
    create: "to create",
    existing: "already a customer",
    batch: "repeated in the file",
    update: "to update",
    unchanged: "unchanged",
    ambiguous: "matching two customers",
    skipped: "skipped",
    possible_duplicates: "to create, a possible duplicate",
  };

  function state(row) {
    const said = OUTCOMES[row.outcome] || row.outcome;
    if (!row.choice) {
      return "Not decided: created on confirm";
    }
    if (row.choice === "skip") {
      return "Skipped";
    }
    if (row.choice === "create") {
      return row.outcome === "create" ? "Create anyway" : "Create anyway: " + said;
    }
    const customer = row.possible_duplicate && row.possible_duplicate.resembles.customer_id;
    let text = "Update " + (customer ? "customer #" + customer : "the customer") + ": " + said;
    if (row.changes.length) {
      text += " (" + row.changes.map(function (change) { return change.field; }).join(", ") + ")";
    }
    return text + (row.reason ? ". " + row.reason : "");
  }

  async function choose(form, action) {
    const row = form.dataset.row;
    const cell = document.getElementById("choice-state-" + row);
    const buttons = form.querySelectorAll("button");
    buttons.forEach(function (button) { button.disabled = true; });
    try {
      const answer = await previewRows.patch(table.dataset.rowUrl, row, csrf, { action: action });
      cell.textContent = state(answer.row);
      previewRows.showSummary(answer);
    } catch (error) {
      cell.textContent = "Not saved: " + error.message;
    }
    buttons.forEach(function (button) { button.disabled = false; });
  }

  forms.forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      choose(form, event.submitter ? event.submitter.value : "");
    });
  });
})();
