package lsp

// The LSP types the server writes itself: what LSP 3.17 added that
// go.lsp.dev/protocol (3.16) lacks — inlay hints, position encodings —
// and the few shapes whose exact encoding matters (a range that may be
// absent in a content change, a lens's data, positions as plain ints).
// Everything else is go.lsp.dev/protocol's.

import (
	"encoding/json"

	"go.lsp.dev/protocol"
)

// position is an LSP position, in the session's encoding.
type position struct {
	Line      int `json:"line"`
	Character int `json:"character"`
}

// lspRange is an LSP range.
type lspRange struct {
	Start position `json:"start"`
	End   position `json:"end"`
}

// textDocumentID names a document by URI (kept as a plain string).
type textDocumentID struct {
	URI string `json:"uri"`
}

// contentChange is one change of didChange: a range edit, or without a
// range the whole new text (go.lsp.dev's Range is not optional).
type contentChange struct {
	Range *struct {
		Start struct{ Line, Character int } `json:"start"`
		End   struct{ Line, Character int } `json:"end"`
	} `json:"range"`
	Text string `json:"text"`
}

// codeLens is a code lens, resolved (Command) or not (Data).
type codeLens struct {
	Range   lspRange          `json:"range"`
	Command *protocol.Command `json:"command,omitempty"`
	Data    *lensData         `json:"data,omitempty"`
}

// lensData is what an unresolved lens carries: an id for the cached
// function it annotates (ids are stable per definition, so the table
// stays as small as the number of definitions).
type lensData struct {
	ID int `json:"id"`
}

// inlayHint is LSP 3.17's InlayHint (protocol 0.12 has none).
type inlayHint struct {
	Position    position `json:"position"`
	Label       string   `json:"label"`
	Tooltip     string   `json:"tooltip,omitempty"`
	PaddingLeft bool     `json:"paddingLeft,omitempty"`
}

type hoverResult struct {
	Contents protocol.MarkupContent `json:"contents"`
	Range    *lspRange              `json:"range,omitempty"`
}

type codeActionParams struct {
	TextDocument textDocumentID `json:"textDocument"`
	Range        lspRange       `json:"range"`
	Context      struct {
		Diagnostics []json.RawMessage         `json:"diagnostics"`
		Only        []protocol.CodeActionKind `json:"only"`
	} `json:"context"`
}

type textEdit struct {
	Range   lspRange `json:"range"`
	NewText string   `json:"newText"`
}

type textDocumentEdit struct {
	TextDocument struct {
		URI     string `json:"uri"`
		Version *int32 `json:"version"`
	} `json:"textDocument"`
	Edits []textEdit `json:"edits"`
}

type workspaceEdit struct {
	DocumentChanges []textDocumentEdit    `json:"documentChanges,omitempty"`
	Changes         map[string][]textEdit `json:"changes,omitempty"`
}

type codeAction struct {
	Title       string                  `json:"title"`
	Kind        protocol.CodeActionKind `json:"kind"`
	Diagnostics []lspDiagnostic         `json:"diagnostics,omitempty"`
	IsPreferred bool                    `json:"isPreferred,omitempty"`
	Edit        *workspaceEdit          `json:"edit,omitempty"`
}

type lspDiagnostic struct {
	Range              lspRange         `json:"range"`
	Severity           int              `json:"severity"`
	Code               string           `json:"code,omitempty"`
	Source             string           `json:"source"`
	Message            string           `json:"message"`
	RelatedInformation []relatedInfoLSP `json:"relatedInformation,omitempty"`
}

type relatedInfoLSP struct {
	Location struct {
		URI   string   `json:"uri"`
		Range lspRange `json:"range"`
	} `json:"location"`
	Message string `json:"message"`
}

type publishParams struct {
	URI         string          `json:"uri"`
	Version     *int32          `json:"version,omitempty"`
	Diagnostics []lspDiagnostic `json:"diagnostics"`
}

type initializeParams struct {
	ProcessID             *int            `json:"processId"`
	RootURI               string          `json:"rootUri"`
	RootPath              string          `json:"rootPath"`
	InitializationOptions json.RawMessage `json:"initializationOptions"`
	WorkspaceFolders      []struct {
		URI  string `json:"uri"`
		Name string `json:"name"`
	} `json:"workspaceFolders"`
	Capabilities struct {
		General struct {
			PositionEncodings []string `json:"positionEncodings"`
		} `json:"general"`
		Workspace struct {
			CodeLens struct {
				RefreshSupport bool `json:"refreshSupport"`
			} `json:"codeLens"`
			InlayHint struct {
				RefreshSupport bool `json:"refreshSupport"`
			} `json:"inlayHint"`
			WorkspaceEdit struct {
				DocumentChanges bool `json:"documentChanges"`
			} `json:"workspaceEdit"`
			Configuration bool `json:"configuration"`
		} `json:"workspace"`
		TextDocument struct {
			InlayHint          *json.RawMessage `json:"inlayHint"`
			CodeLens           *json.RawMessage `json:"codeLens"`
			PublishDiagnostics struct {
				RelatedInformation bool `json:"relatedInformation"`
				VersionSupport     bool `json:"versionSupport"`
			} `json:"publishDiagnostics"`
		} `json:"textDocument"`
		Window struct {
			WorkDoneProgress bool `json:"workDoneProgress"`
		} `json:"window"`
	} `json:"capabilities"`
}

// serverCapabilities adds what LSP 3.17 has and protocol 0.12 lacks.
type serverCapabilities struct {
	protocol.ServerCapabilities
	InlayHintProvider any    `json:"inlayHintProvider,omitempty"`
	PositionEncoding  string `json:"positionEncoding,omitempty"`
}

type initializeResult struct {
	Capabilities serverCapabilities   `json:"capabilities"`
	ServerInfo   *protocol.ServerInfo `json:"serverInfo,omitempty"`
}

// clientCaps are the client capabilities the server acts on, read from the
// raw initialize params (go.lsp.dev/protocol 0.12 predates LSP 3.17).
type clientCaps struct {
	codeLensRefresh  bool
	inlayHintRefresh bool
	inlayHints       bool
	codeLenses       bool
	progress         bool
	related          bool
	versioned        bool
	documentChanges  bool
	configuration    bool
}

// inlayHintParams are the params of inlayHint.
type inlayHintParams struct {
	TextDocument textDocumentID `json:"textDocument"`
	Range        lspRange       `json:"range"`
}

// executeCommandParams are the params of executeCommand.
type executeCommandParams struct {
	Command   string            `json:"command"`
	Arguments []json.RawMessage `json:"arguments"`
}

// didChangeConfigurationParams are the params of didChangeConfiguration.
type didChangeConfigurationParams struct {
	Settings json.RawMessage `json:"settings"`
}

// didChangeParams are the params of didChange.
type didChangeParams struct {
	TextDocument struct {
		URI     string `json:"uri"`
		Version int32  `json:"version"`
	} `json:"textDocument"`
	ContentChanges []contentChange `json:"contentChanges"`
}
