package pool

// The messages between the worker and the page about helpers (PROTOCOL.md,
// "Helper workers"). The page, not the worker, starts the helper workers
// and connects each to the worker by a MessageChannel, whose port then
// carries all their traffic. Nested workers (started by the worker itself)
// are what two CI runs in Firefox had in common when the worker never
// answered after starting its pool; older browsers have none at all.
const (
	MsgSpawn       = "spawn"        // worker → page: start helper id (name: HelperName)
	MsgStop        = "helper_stop"  // worker → page: terminate helper id
	MsgHelper      = "helper"       // page → worker: helper id's port
	MsgHelperError = "helper_error" // page → worker: helper id failed to start, or its program stopped (message)
)
