// A fresh add page has both protocols' fieldsets, so without scripts nothing is out of
// reach; with them, only the chosen protocol's fields and retrieve methods show.
document.addEventListener('DOMContentLoaded', () => {
  const protocol = document.getElementById('id_protocol');
  const method = document.getElementById('id_retrieve_method');
  const fieldsets = {
    dimse: document.querySelector('fieldset.protocol-dimse'),
    dicomweb: document.querySelector('fieldset.protocol-dicomweb'),
  };
  if (!protocol || !fieldsets.dimse || !fieldsets.dicomweb) return;  // a saved node's page

  const show = () => {
    for (const [value, fieldset] of Object.entries(fieldsets)) {
      fieldset.hidden = value !== protocol.value;
    }
    if (!method) return;
    // The retrieve methods come grouped under the protocols' names.
    const name = protocol.selectedOptions[0].text;
    for (const group of method.querySelectorAll('optgroup')) group.disabled = group.label !== name;
    if (method.selectedOptions[0]?.parentElement.disabled) {
      method.value = method.querySelector('optgroup:not([disabled]) option').value;
    }
  };
  protocol.addEventListener('change', show);
  show();
});
