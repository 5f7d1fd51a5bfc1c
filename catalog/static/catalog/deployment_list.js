'use strict';
// A deployment's name is a link Django writes, with no room for a tooltip: the whole
// name goes into the link's title here, so a name cut by the column can be read.
document.addEventListener('DOMContentLoaded', function() {
    document.querySelectorAll('#result_list .field-name a').forEach(function(link) {
        link.title = link.textContent;
    });
});
