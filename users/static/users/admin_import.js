// The admin's import progress page: reads the import's status from the API every second (with
// the admin's session) and shows it, until the import has finished. No build step.
"use strict";

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
