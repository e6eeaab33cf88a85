;;; e2e.el --- End-to-end test of cachelens.el in a real Emacs  -*- lexical-binding: t; -*-

;; Run by emacs_test.go: emacs --batch -Q -l e2e.el.  Opens the example,
;; waits for cachelens's diagnostics through lsp-mode, applies a quick
;; fix with `lsp-execute-code-action', saves, runs the program, and reads
;; the code lenses lsp-mode shows after the server's refresh request.

(require 'package)
;; Debian's elpa-* packages (lsp-mode, go-mode), which -Q leaves out.
(add-to-list 'package-directory-list "/usr/share/emacs/site-lisp/elpa")
(setq package-user-dir (expand-file-name "elpa" (getenv "CACHELENS_HOME")))
(package-initialize)
(require 'json)

(defun e2e-env (k) (or (getenv k) (error "%s is not set" k)))

(defvar e2e-results (list (cons 'steps nil)))
(defun e2e-set (k v) (setf (alist-get k e2e-results) v))
(defun e2e-step (name) (setf (alist-get 'steps e2e-results) (append (alist-get 'steps e2e-results) (list name))))
(defun e2e-finish ()
  (with-temp-file (e2e-env "CACHELENS_RESULT")
    (insert (json-encode e2e-results)))
  (kill-emacs 0))
(defun e2e-fail (msg)
  (e2e-set 'error msg)
  (e2e-finish))
(defun e2e-wait (secs pred)
  "Process input until PRED holds or SECS pass; PRED's value."
  (let ((deadline (+ (float-time) secs)) v)
    (while (and (not (setq v (funcall pred))) (< (float-time) deadline))
      (accept-process-output nil 0.05))
    v))

(let ((debug-on-error nil))
  (condition-case err
      (progn
        (setq lsp-session-file (expand-file-name "lsp-session" (e2e-env "CACHELENS_HOME"))
              lsp-keep-workspace-alive nil
              lsp-restart 'ignore
              lsp-lens-enable t
              lsp-headerline-breadcrumb-enable nil
              lsp-enable-file-watchers nil
              lsp-log-io nil)
        (require 'go-mode)
        (require 'lsp-mode)
        (load (expand-file-name "cachelens.el" (e2e-env "CACHELENS_PLUGIN")))
        (setq cachelens-server-command (list (e2e-env "CACHELENS_BIN") "serve" "-logfile" (e2e-env "CACHELENS_LOG")))
        (e2e-set 'emacs emacs-version)
        (e2e-set 'lsp (lsp-version))
        (lsp-workspace-folders-add (file-name-directory (e2e-env "CACHELENS_MAIN")))
        (find-file (e2e-env "CACHELENS_MAIN"))
        (e2e-set 'mode (symbol-name major-mode))
        (lsp)
        (unless (e2e-wait 60 (lambda () (lsp-find-workspace 'cachelens (buffer-file-name))))
          (e2e-fail "the cachelens server did not start"))
        (e2e-step "started")

        ;; 1. The static diagnostics arrive.
        (let* ((codes (lambda ()
                        (mapcar (lambda (d) (lsp:diagnostic-code? d)) (lsp--get-buffer-diagnostics))))
               (ok (e2e-wait 120 (lambda () (let ((c (funcall codes)))
                                              (and (member "unhashable" c) (member "mutated" c)))))))
          (e2e-set 'diagnostics
                   (mapcar (lambda (d)
                             (list (cons 'code (lsp:diagnostic-code? d))
                                   (cons 'source (lsp:diagnostic-source? d))
                                   (cons 'message (lsp:diagnostic-message d))
                                   (cons 'line (1+ (lsp:position-line (lsp:range-start (lsp:diagnostic-range d)))))))
                           (lsp--get-buffer-diagnostics)))
          (unless ok (e2e-fail "no unhashable and mutated diagnostics")))
        (e2e-step "diagnostics")

        ;; 2. "Work on a copy" on the mutated result, through lsp-mode.
        (let* ((d (seq-find (lambda (d) (equal (lsp:diagnostic-code? d) "mutated")) (lsp--get-buffer-diagnostics)))
               (line (lsp:position-line (lsp:range-start (lsp:diagnostic-range d)))))
          (goto-char (point-min))
          (forward-line line)
          (back-to-indentation)
          (let* ((actions (append (lsp-code-actions-at-point) nil))
                 (titles (mapcar #'lsp:code-action-title actions))
                 (copy (seq-find (lambda (a) (string-prefix-p "Work on a copy" (lsp:code-action-title a))) actions)))
            (e2e-set 'offered titles)
            (unless copy (e2e-fail "no \"Work on a copy\" action"))
            (lsp-execute-code-action copy)))
        (unless (e2e-wait 20 (lambda ()
                               (save-excursion
                                 (goto-char (point-min))
                                 (search-forward "applyDiscount(cacheruntime.Clone(loadCatalog(\"eu\")))" nil t))))
          (e2e-fail "the fix was not applied"))
        (e2e-step "fix")
        (save-buffer)
        (unless (e2e-wait 30 (lambda ()
                               (not (seq-find (lambda (d) (equal (lsp:diagnostic-code? d) "mutated"))
                                              (lsp--get-buffer-diagnostics)))))
          (e2e-fail "the mutated diagnostic stayed after the fix"))
        (e2e-step "cleared")

        ;; 3. Run the program: it finds the server and reports.
        (let ((default-directory (file-name-directory (e2e-env "CACHELENS_MAIN"))))
          (e2e-set 'program (with-output-to-string
                              (with-current-buffer standard-output
                                (unless (eq 0 (call-process "go" nil t nil "run" "."))
                                  (e2e-fail (concat "go run: " (buffer-string))))))))
        (e2e-step "ran")

        ;; 4. The server asks for a lens refresh; lsp-mode re-requests,
        ;; resolves the lenses on screen and shows them as overlays.
        (let* ((lenses (lambda ()
                         (delq nil (mapcar (lambda (ov)
                                             (let ((s (overlay-get ov 'lsp--lens-contents)))
                                               (when s (cons (line-number-at-pos (overlay-get ov 'lsp-lens-position))
                                                             (substring-no-properties s)))))
                                           (overlays-in (point-min) (point-max))))))
               (ok (e2e-wait 30 (lambda ()
                                  (>= (seq-count (lambda (l) (string-prefix-p "cache · " (cdr l))) (funcall lenses)) 3)))))
          (e2e-set 'lenses (mapcar (lambda (l) (list (cons 'line (car l)) (cons 'title (cdr l)))) (funcall lenses)))
          (unless ok (e2e-fail "no code lenses with counts")))
        (e2e-step "lenses")
        (e2e-set 'status (cachelens-status-string))
        (e2e-finish))
    (error (e2e-fail (format "%S" err)))))
