package document

// LabelStatus says where a chunk's label came from (the chunk record's label.status).
type LabelStatus string

const (
	// LabelAuto is a confident label from the classifier: in labeled/auto/.
	LabelAuto LabelStatus = "auto"
	// LabelPending is a chunk waiting in the labeling spool for humans.
	LabelPending LabelStatus = "pending"
	// LabelHuman is a label a person gave this text.
	LabelHuman LabelStatus = "human"
)

// Label is the label field of a chunk record (ARCHITECTURE.md, "Chunk record").
type Label struct {
	Class       string             `json:"class,omitempty"`
	Classes     []string           `json:"classes,omitempty"`
	Confidence  float64            `json:"confidence"`
	Map         map[string]float64 `json:"confidence_map,omitempty"`
	Uncertainty float64            `json:"uncertainty"`
	Measure     string             `json:"measure"`
	Status      LabelStatus        `json:"status"`
	Classifier  string             `json:"classifier"`
}

// LabelInput is a chunk as a labeler sees it.
type LabelInput struct {
	ID    string
	Index int
	Text  string
	// Before and After are up to LabelContext bytes of the document's text either side of
	// the chunk: context for redaction, so that a number cut by a chunk boundary is still
	// recognised (invariant 5). They are never sent anywhere themselves.
	Before, After string
	Embedding     []float32
	// HeadingPath is the chunk's place in the document, shown to human labelers.
	HeadingPath []string
}

// LabelContext is how much text either side of a chunk a labeler sees for redaction.
const LabelContext = 64
