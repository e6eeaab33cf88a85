;;; cachelens.el --- Live cache insights for Go beside gopls (lsp-mode)  -*- lexical-binding: t; -*-

;; Package-Requires: ((emacs "27.1") (lsp-mode "8.0.0"))
;; Keywords: languages, tools, go
;; URL: https://github.com/cachelens/cachelens

;;; Commentary:

;; Registers the cachelens language server with lsp-mode as an add-on
;; server: it starts for Go buffers next to gopls (lsp-mode's lsp-go) and
;; shows what the program's cacheruntime caches did — hit and miss counts
;; as code lenses, diagnostics for arguments that cannot be hashed and
;; results that callers change, and quick fixes through
;; `lsp-execute-code-action'.  lsp-mode 8 answers the server's
;; workspace/codeLens/refresh itself, so the counts update while the
;; program runs.
;;
;;   (require 'cachelens)          ; after lsp-mode
;;   (add-hook 'go-mode-hook #'lsp-deferred)
;;
;; eglot runs one server per buffer: it cannot run cachelens beside gopls
;; unless a multiplexer such as rass combines them (see README.md).

;;; Code:

(require 'lsp-mode)

(defgroup cachelens nil
  "Live cache insights for Go."
  :group 'lsp-mode
  :link '(url-link "https://github.com/cachelens/cachelens"))

(defcustom cachelens-server-command '("cachelens" "serve")
  "The command that starts the cachelens language server."
  :type '(repeat string))

(defcustom cachelens-code-lenses t
  "Show hits, misses and time saved above each cached function."
  :type 'boolean)

(defcustom cachelens-inlay-hints t
  "Ask for each call site's hits and misses as inlay hints."
  :type 'boolean)

(defcustom cachelens-runtime-diagnostics t
  "Report what running programs found: hash errors, mutations, caches that never hit."
  :type 'boolean)

(defcustom cachelens-socket ""
  "Receive reports on this socket instead of the runtime directory (empty: automatic)."
  :type 'string)

(defcustom cachelens-prometheus-url ""
  "The HTTP API of the Prometheus that scrapes the cachelens exporter (empty: no production line)."
  :type 'string)

(defcustom cachelens-prometheus-matchers ""
  "Label matchers added to every production query, e.g. job=\"shop\"."
  :type 'string)

(defcustom cachelens-prometheus-window "24h"
  "The production line's window, a duration such as 24h."
  :type 'string)

(defcustom cachelens-production-line t
  "Show the production line and hover section (with `cachelens-prometheus-url' set)."
  :type 'boolean)

(defvar cachelens-status nil
  "The server's last cachelens/status notification, or nil before the first.")

(defun cachelens--bool (v)
  "V as JSON true or false."
  (if v t :json-false))

(defun cachelens--settings ()
  "The settings the server reads, as initialization options."
  (list :codeLenses (cachelens--bool cachelens-code-lenses)
        :inlayHints (cachelens--bool cachelens-inlay-hints)
        :runtimeDiagnostics (cachelens--bool cachelens-runtime-diagnostics)
        :socket cachelens-socket
        :prometheus (list :url cachelens-prometheus-url
                          :matchers cachelens-prometheus-matchers
                          :window cachelens-prometheus-window)
        :productionLine (cachelens--bool cachelens-production-line)))

(defun cachelens--on-status (_workspace params)
  "Remember the server's status PARAMS for `cachelens-status-string'."
  (setq cachelens-status params)
  (force-mode-line-update t))

(defun cachelens--get (key)
  "KEY of `cachelens-status', whether lsp-mode decoded it as a plist or a hash table."
  (cond ((hash-table-p cachelens-status) (gethash key cachelens-status))
        ((listp cachelens-status) (plist-get cachelens-status (intern (concat ":" key))))))

(defun cachelens-status-string ()
  "A short description of the server: how many programs report to it now."
  (cond ((null cachelens-status) "cachelens: starting")
        ((eq (cachelens--get "listening") :json-false) "cachelens: not listening (see *lsp-log*)")
        (t (let ((n (or (cachelens--get "running") 0)))
             (format "cachelens: %d program%s" n (if (= n 1) "" "s"))))))

(defun cachelens--workspace ()
  "The cachelens workspace of the current buffer."
  (or (lsp-find-workspace 'cachelens (buffer-file-name))
      (user-error "The cachelens server does not run for this buffer")))

(defun cachelens-reset-stats ()
  "Reset the statistics the server has collected."
  (interactive)
  (with-lsp-workspace (cachelens--workspace)
    (lsp-request "workspace/executeCommand" (list :command "cachelens.resetStats" :arguments []))))

(defun cachelens-status ()
  "Show the server's status in the echo area."
  (interactive)
  (message "%s" (cachelens-status-string)))

(lsp-register-client
 (make-lsp-client
  :new-connection (lsp-stdio-connection (lambda () cachelens-server-command))
  :activation-fn (lsp-activate-on "go")
  :add-on? t
  :priority -2
  :server-id 'cachelens
  :initialization-options #'cachelens--settings
  :notification-handlers (ht ("cachelens/status" #'cachelens--on-status))))

(provide 'cachelens)
;;; cachelens.el ends here
