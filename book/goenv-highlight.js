// Highlighting of ```goenv blocks: a highlight.js language definition for
// converge playbooks, registered with the highlight.js that mdBook ships, and
// applied to the blocks mdBook has already rendered.
(function () {
  "use strict";
  function goenv(hljs) {
    // minijinja inside strings and heredocs.
    var TEMPLATE = {
      className: "template-variable",
      variants: [
        { begin: /\{\{-?/, end: /-?\}\}/ },
        { begin: /\{%-?/, end: /-?%\}/ },
        { begin: /\{#/, end: /#\}/ },
      ],
    };
    var STRING = {
      className: "string",
      begin: /"/,
      end: /"/,
      illegal: /\n/,
      contains: [hljs.BACKSLASH_ESCAPE, TEMPLATE],
    };
    // <<EOT ... EOT and <<-EOT ... EOT.
    var HEREDOC = {
      className: "string",
      begin: /<<-?[A-Z][A-Z0-9_]*[ \t]*$/,
      end: /^[ \t]*[A-Z][A-Z0-9_]*(?![A-Za-z0-9_])/,
      contains: [TEMPLATE],
    };
    // `name =` in a block: an attribute, a variable, a Go setting.
    var ATTRIBUTE = {
      className: "attr",
      begin: /[A-Za-z_][A-Za-z0-9_.-]*(?=\s*=[^=])/,
    };
    return {
      name: "goenv",
      aliases: ["converge"],
      keywords: {
        // Statements of the top level (src/lsp/complete.rs, TOP_LEVEL).
        keyword: "inventory vars host group hosts handler",
        // The words of the resource kinds (src/check/resource.rs, KINDS).
        built_in:
          "go toolchain tool proxy goenv export path vscode settings restart selinux label sysctl file " +
          "template managed block command assert prepend append",
        literal: "true false direct off",
      },
      contains: [
        hljs.HASH_COMMENT_MODE,
        hljs.C_LINE_COMMENT_MODE,
        HEREDOC,
        STRING,
        { className: "string", begin: /'/, end: /'/, illegal: /\n/ },
        ATTRIBUTE,
        { className: "number", begin: /(?<![\w.])-?\d+(\.\d+)*(?![\w.])/, relevance: 0 },
        { className: "operator", begin: /==|!=|>=|<=/ },
      ],
    };
  }

  if (typeof module !== "undefined" && module.exports) {
    module.exports = goenv;
  }
  if (typeof hljs === "undefined" || typeof document === "undefined") {
    return;
  }
  hljs.registerLanguage("goenv", goenv);
  var blocks = document.querySelectorAll("code.language-goenv");
  Array.prototype.forEach.call(blocks, function (block) {
    // mdBook highlighted the block before this language existed: start again
    // from its text.
    block.textContent = block.textContent;
    if (typeof hljs.highlightElement === "function") {
      hljs.highlightElement(block);
    } else {
      hljs.highlightBlock(block);
    }
    block.classList.add("hljs");
  });
})();
