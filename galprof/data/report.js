"use strict";
// Thumbnails live once each in the JSON block #galprof-images; an <img data-thumb="tN"> gets its
// source only when it comes near the viewport (images in a closed category have no box, so none is
// decoded before the category is opened).
(function () {
  var block = document.getElementById("galprof-images");
  var uris = block ? JSON.parse(block.textContent) : {};
  function show(img) {
    var uri = uris[img.getAttribute("data-thumb")];
    if (uri && !img.getAttribute("src")) { img.setAttribute("src", uri); }
  }
  var images = document.querySelectorAll("img[data-thumb]");
  if (!("IntersectionObserver" in window)) { images.forEach(show); return; }
  var observer = new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) {
      if (entry.isIntersecting) { show(entry.target); observer.unobserve(entry.target); }
    });
  }, { rootMargin: "400px" });
  images.forEach(function (img) { observer.observe(img); });
})();
