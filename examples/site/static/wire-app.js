/* Southern Wire reader app (demo stub). Renders nothing useful without the story API. */
(function () {
  var root = document.getElementById('app');
  if (!root || !window.__SW_CONFIG__) { return; }
  root.textContent = 'Loading\u2026';
  fetch(window.__SW_CONFIG__.api + window.__SW_CONFIG__.storyId + '.json')
    .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
    .then(function (story) { root.innerHTML = story.html; })
    .catch(function () { root.textContent = 'This story is not available offline.'; });
})();
