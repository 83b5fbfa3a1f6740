// Unit pickers: a search box over each grouped <select> (see web/templates/_unit_picker.html).
// Typing fills the box's <datalist> from /api/v1/units/search (diacritics optional); picking a
// suggestion selects that unit in the <select>, which is what the form sends. Without
// JavaScript the <select> alone works.
(function () {
  'use strict';
  document.querySelectorAll('[data-unit-picker]').forEach(function (picker) {
    if (picker.dataset.ready) { return; } // the script is included once per picker
    picker.dataset.ready = '1';
    const box = picker.querySelector('.unit-search');
    const input = box.querySelector('input');
    const list = box.querySelector('datalist');
    const select = picker.querySelector('select');
    const byLabel = new Map();
    let timer = null;
    let asked = 0;
    box.hidden = false;

    function choose() {
      const code = byLabel.get(input.value);
      if (!code) { return; }
      if (!Array.from(select.options).some(function (o) { return o.value === code; })) {
        select.add(new Option(input.value, code));
      }
      select.value = code;
      select.dispatchEvent(new Event('change', {bubbles: true}));
    }

    async function fill(query) {
      const ticket = ++asked;
      const params = new URLSearchParams({q: query, limit: '20'});
      if (picker.dataset.within) { params.set('within', picker.dataset.within); }
      if (picker.dataset.level) { params.set('level', picker.dataset.level); }
      let found = [];
      try {
        const answer = await fetch('/api/v1/units/search?' + params.toString(), {
          headers: {Accept: 'application/json'}, credentials: 'same-origin'
        });
        if (!answer.ok) { return; }
        found = await answer.json();
      } catch (error) {
        return; // the <select> still works
      }
      if (ticket !== asked) { return; } // a newer query is on its way
      list.replaceChildren();
      byLabel.clear();
      found.forEach(function (unit) {
        byLabel.set(unit.label, unit.code);
        list.appendChild(new Option(unit.label));
      });
      choose();
    }

    input.addEventListener('input', function () {
      if (byLabel.has(input.value)) { choose(); return; }
      clearTimeout(timer);
      const query = input.value.trim();
      if (query.length < 2) { return; }
      timer = setTimeout(function () { fill(query); }, 200);
    });
  });
})();
