; injections.scm: languages inside sonde's strings and comments, for the
; published Lua grammar (npm @tree-sitter-grammars/tree-sitter-lua). Runs
; with the grammar's own injections (nvim-treesitter reads the next line).
; inherits: lua
; Nothing here is generated: there are no BEGIN GENERATED / END GENERATED
; markers in this file.

; comments: TODO, FIXME, NOTE, ...
((comment) @injection.content
  (#set! injection.language "comment"))

; --- the recipe form ---

; experiment "name" { about = "prose" }: inline markdown
(function_call
  name: (function_call
    name: (identifier) @_experiment)
  arguments: (arguments
    (table_constructor
      (field
        name: (identifier) @_about
        value: (string
          content: (string_content) @injection.content))))
  (#eq? @_experiment "experiment")
  (#eq? @_about "about")
  (#set! injection.language "markdown_inline"))

; params = { steps = { 200, "doc" } }: the doc string, inline markdown
(function_call
  name: (function_call
    name: (identifier) @_experiment)
  arguments: (arguments
    (table_constructor
      (field
        name: (identifier) @_params
        value: (table_constructor
          (field
            value: (table_constructor
              (field)
              .
              (field
                value: (string
                  content: (string_content) @injection.content))))))))
  (#eq? @_experiment "experiment")
  (#eq? @_params "params")
  (#set! injection.language "markdown_inline"))

; --- the doc registry and code in strings ---

; sonde.doc("nn.fit", "nn.fit(model, loader, opts)", "one line"): the
; signature is Lua
(function_call
  name: (dot_index_expression
    table: (identifier) @_sonde
    field: (identifier) @_doc)
  arguments: (arguments
    .
    (string)
    .
    (string
      content: (string_content) @injection.content))
  (#eq? @_sonde "sonde")
  (#eq? @_doc "doc")
  (#set! injection.language "lua"))

; load("return 1 + 1"): Lua source
(function_call
  name: (identifier) @_load
  arguments: (arguments
    .
    (string
      content: (string_content) @injection.content))
  (#eq? @_load "load")
  (#set! injection.language "lua"))

; --- format strings and Lua patterns ---

; string.format("%d steps", n)
(function_call
  name: (dot_index_expression
    table: (identifier) @_string
    field: (identifier) @_format)
  arguments: (arguments
    .
    (string
      content: (string_content) @injection.content))
  (#eq? @_string "string")
  (#eq? @_format "format")
  (#set! injection.language "printf"))

; ("%d steps"):format(n)
(function_call
  name: (method_index_expression
    table: (parenthesized_expression
      (string
        content: (string_content) @injection.content))
    method: (identifier) @_format)
  (#eq? @_format "format")
  (#set! injection.language "printf"))

; string.match(s, "^(%w+)=(.*)$") and the other pattern functions
(function_call
  name: (dot_index_expression
    table: (identifier) @_string
    field: (identifier) @_fn)
  arguments: (arguments
    .
    (_)
    .
    (string
      content: (string_content) @injection.content))
  (#eq? @_string "string")
  (#any-of? @_fn "find" "match" "gmatch" "gsub")
  (#set! injection.language "luap"))

; s:match("^(%w+)=(.*)$")
(function_call
  name: (method_index_expression
    method: (identifier) @_fn)
  arguments: (arguments
    .
    (string
      content: (string_content) @injection.content))
  (#any-of? @_fn "find" "match" "gmatch" "gsub")
  (#set! injection.language "luap"))
