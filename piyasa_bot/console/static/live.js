// The chat page's live view: each newly stored message arrives as an HTML fragment, rendered
// (and escaped) by the server with the same template as the page. EventSource reconnects by itself.
(function () {
  "use strict";
  var list = document.getElementById("messages");
  var state = document.getElementById("live-state");
  if (!list || !window.EventSource) { return; }
  var source = new EventSource(list.dataset.events);
  source.addEventListener("line", function (event) {
    var empty = document.getElementById("no-messages");
    if (empty) { empty.remove(); }
    var atBottom = window.innerHeight + window.scrollY >= document.body.offsetHeight - 40;
    var holder = document.createElement("template");
    holder.innerHTML = event.data;
    var item = holder.content.firstElementChild;
    if (item && !document.getElementById(item.id)) { list.appendChild(item); }
    if (atBottom) { window.scrollTo(0, document.body.scrollHeight); }
  });
  source.addEventListener("open", function () { state.textContent = "Live: new messages appear as they are stored."; state.className = "muted"; });
  source.addEventListener("error", function () { state.textContent = "Live view interrupted: reconnecting…"; state.className = "warn"; });
})();
