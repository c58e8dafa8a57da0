(function () {
  var items = Array.prototype.slice.call(document.querySelectorAll('article.item'));
  var current = 0;
  function mark(k) {
    current = Math.max(0, Math.min(items.length - 1, k));
    items.forEach(function (a, i) { a.classList.toggle('current', i === current); });
  }
  function go(k, field) {
    if (!items.length) { return; }
    mark(k);
    items[current].scrollIntoView({block: 'start'});
    var target = items[current].querySelector(field || 'input.points');
    if (target) { target.focus(); if (target.select) { target.select(); } }
  }
  function follow(id) { var a = document.getElementById(id); if (a && a.href) { window.location = a.href; } }
  items.forEach(function (item, k) {
    item.addEventListener('focusin', function () { mark(k); });
    item.querySelectorAll('button.level').forEach(function (button) {
      button.addEventListener('click', function () {
        item.querySelector('input.points').value = button.dataset.points;
        go(k + 1 < items.length ? k + 1 : k);
      });
    });
  });
  document.addEventListener('keydown', function (e) {
    var t = e.target, tag = t.tagName, inField = tag === 'INPUT' || tag === 'TEXTAREA';
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); document.getElementById('save-next').click(); return; }
    if (e.key === 'Escape' && inField) { t.blur(); return; }
    if (tag === 'INPUT' && t.classList.contains('points') && e.key === 'Enter') {
      e.preventDefault();
      if (current + 1 < items.length) { go(current + 1); } else { document.getElementById('save-next').click(); }
      return;
    }
    if (inField || e.altKey || e.ctrlKey || e.metaKey) { return; }
    if (e.key === 'j') { e.preventDefault(); go(current + 1); }
    else if (e.key === 'k') { e.preventDefault(); go(current - 1); }
    else if (e.key === 'c') { e.preventDefault(); go(current, 'textarea'); }
    else if (e.key === 'n') { follow('next-student'); }
    else if (e.key === 'p') { follow('prev-student'); }
    else if (e.key === 'w') { follow('whole-notebook'); }
  });
  var first = document.querySelector('article.item[data-focus="1"]');
  if (first) { go(items.indexOf(first)); }
})();
