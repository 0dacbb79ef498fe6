#!/bin/sh
# test_emacs.sh: editor-support/emacs/sonde-mode.el in a batch Emacs with
# Debian's lua-mode: the mode of *.sonde, the faces at chosen words of a
# sample recipe, then every documented built-in of `sonde --dump-api`.
SONDE=${SONDE:-./sonde}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! command -v emacs >/dev/null; then echo "SKIP: emacs is not installed"; echo "TALLY 1 passed, 0 failed"; exit 0; fi
luamode=$(ls -d /usr/share/emacs/site-lisp/elpa/lua-mode-* 2>/dev/null | tail -n 1)
if [ -z "$luamode" ]; then echo "SKIP: lua-mode (elpa-lua-mode) is not installed"; echo "TALLY 1 passed, 0 failed"; exit 0; fi
"$SONDE" --dump-api >"$tmp/api.json" && "$SONDE" tests/editor/builtins_sample.lua "$tmp/api.json" >"$tmp/all.sonde"

cat >"$tmp/check.el" <<'EL'
(require 'sonde-mode)
(defvar results nil)
(defun check (ok what) (push (format "%s %s" (if ok "ok  " "FAIL") what) results))
(defun faces-at (pos) (let ((f (get-text-property pos 'face))) (if (listp f) f (list f))))
;; the face at group 1 of the first match of re
(defun face-is (re face)
  (goto-char (point-min))
  (if (not (re-search-forward re nil t))
      (check nil (format "%s not found" re))
    (let ((got (faces-at (match-beginning 1))))
      (check (memq face got) (format "%s is %s (got %S)" re face got)))))
(find-file (getenv "SAMPLE"))
(font-lock-ensure)
(check (eq major-mode 'sonde-mode) (format "*.sonde opens in sonde-mode (got %s)" major-mode))
(check (derived-mode-p 'lua-mode) "sonde-mode derives from lua-mode")
(check (equal comment-start "-- ") "comment-start is \"-- \"")
(check (= lua-indent-level 2) "indent level 2")
(face-is "\\(experiment\\) \"" 'sonde-form-face)
(face-is "^ *\\(params\\) =" 'font-lock-constant-face)
(face-is "^ *\\(run\\) =" 'font-lock-constant-face)
(face-is "\\(tensor\\.randn\\)" 'font-lock-builtin-face)
(face-is "tensor\\.\\(randn\\)" 'font-lock-builtin-face)
(face-is "\\(nn\\.Linear\\)" 'font-lock-builtin-face)
(face-is "\\(nn\\.functional\\.cross_entropy\\)" 'font-lock-builtin-face)
(face-is "\\(probe\\.logistic\\)" 'font-lock-builtin-face)
(face-is "X:\\(sum\\)" 'font-lock-function-name-face)
(face-is "opt:\\(zero_grad\\)" 'font-lock-function-name-face)
(face-is "= \\(nn\\.functional\\)$" 'font-lock-type-face)
(face-is "\\(tensor\\)\\.not_a_builtin" 'font-lock-type-face)
(goto-char (point-min)) (re-search-forward "tensor\\.\\(not_a_builtin\\)")
(check (not (memq 'font-lock-builtin-face (faces-at (match-beginning 1)))) "an undocumented name is not a built-in")
(face-is "\\(help\\) \"" 'font-lock-builtin-face)
(face-is "-- \\(sample\\)" 'font-lock-comment-face)
(face-is "\"\\(samples\\)\"" 'font-lock-string-face)
(face-is "\\(local\\) g" 'font-lock-keyword-face)
(face-is "\\(function\\)(p" 'font-lock-keyword-face)
;; reindenting the sample changes nothing
(let ((before (buffer-string)))
  (indent-region (point-min) (point-max))
  (check (equal before (buffer-string)) "indent-region keeps the sample's indentation"))
;; every built-in, one a line: the whole name has the built-in face
(find-file (getenv "ALL"))
(font-lock-ensure)
(let ((n 0) (bad nil))
  (goto-char (point-min))
  (while (not (eobp))
    (let* ((text (buffer-substring (line-beginning-position) (line-end-position)))
           (method (string-prefix-p "x:" text))
           (face (if method 'font-lock-function-name-face 'font-lock-builtin-face))
           (start (+ (line-beginning-position) (if method 2 0)))
           (end (- (line-end-position) 3)))
      (setq n (1+ n))
      (unless (and (memq face (faces-at start)) (memq face (faces-at end)))
        (push text bad)))
    (forward-line 1))
  (check (and (> n 100) (null bad))
         (format "all %d documented built-ins are highlighted%s" n
                 (if bad (format "; not: %s (run make editor-files)" (mapconcat #'identity (last bad 20) " ")) ""))))
(with-temp-file (getenv "CHECK_OUT") (insert (mapconcat #'identity (reverse results) "\n") "\n"))
EL

SAMPLE=tests/editor/sample.sonde ALL="$tmp/all.sonde" CHECK_OUT="$tmp/check.out" \
  emacs --batch -Q -L "$luamode" -L editor-support/emacs -l "$tmp/check.el" >"$tmp/emacs.log" 2>&1
p=0; f=0
if [ -s "$tmp/check.out" ]; then
  cat "$tmp/check.out"
  p=$(grep -c '^ok' "$tmp/check.out"); f=$(grep -c '^FAIL' "$tmp/check.out")
else
  echo "FAIL emacs wrote no results:"; tail -n 20 "$tmp/emacs.log"; f=1
fi
# byte-compiles without a warning (in a copy: no .elc left in the tree)
cp editor-support/emacs/sonde-mode.el "$tmp/"
if emacs --batch -Q -L "$luamode" -f batch-byte-compile "$tmp/sonde-mode.el" >"$tmp/bc.log" 2>&1 \
  && ! grep -q -i 'warning\|error' "$tmp/bc.log"; then
  p=$((p + 1)); echo "ok   sonde-mode.el byte-compiles cleanly"
else
  f=$((f + 1)); echo "FAIL sonde-mode.el byte-compile:"; cat "$tmp/bc.log"
fi
echo "TALLY $p passed, $f failed"
[ "$f" -eq 0 ]
