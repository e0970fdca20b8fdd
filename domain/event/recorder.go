package event

// Recorder is embedded by aggregates: it keeps the version the aggregate was
// loaded at and the changes recorded since, in order.
type Recorder struct {
	version int64
	changes []Payload
}

// Version is the stream version the aggregate was loaded at.
func (r *Recorder) Version() int64 { return r.version }

// Changes are the events recorded since loading.
func (r *Recorder) Changes() []Payload { return r.changes }

// Loaded records that a stored event with version v has been applied.
func (r *Recorder) Loaded(v int64) { r.version = v }

// Record appends p to the changes; the aggregate applies it itself.
func (r *Recorder) Record(p Payload) { r.changes = append(r.changes, p) }
