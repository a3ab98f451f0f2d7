package main

import (
	"runtime/debug"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/model"
	"github.com/crema-app/crema/model/transfer"
)

// The host's budget (a tab's 1 GiB in a browser) is Go's soft memory
// limit: the collector works harder rather than let garbage take the tab
// past it.
func init() { debug.SetMemoryLimit(transfer.HostBudget()) }

// memory is the memory model's plan of a run of s (transfer.PlanRun) on
// the session's backend and weights, with the images the page sent (a
// square content and style before it sent any): what the settings answer
// carries for the page to show beside the image size, and refuse with.
// given, when set, is the images' sizes as the page has them (it sends
// the pixels only with the first run).
func (w *worker) memory(s transfer.Settings, given *transfer.JobShape) *transfer.Plan {
	var b kernels.Backend
	var net *model.Net
	if w.sess != nil && w.sess.Net() != nil {
		net = w.sess.Net()
		b = net.Backend()
	}
	shape := transfer.SquareShape(1)
	switch {
	case given != nil && given.Content[0] > 0:
		shape = *given
	case w.content != nil:
		shape = transfer.ShapeOf(transfer.Job{Content: w.content, Styles: w.styles})
	}
	p, err := transfer.PlanRun(b, net, s, shape)
	if err != nil {
		return nil
	}
	return &p
}

// withMemory adds the memory model's plan to a settings answer and, when
// the settings would run but not in memory, its reason as the answer's
// error.
func (w *worker) withMemory(msg *SettingsInfo, s transfer.Settings, shape *transfer.JobShape) {
	msg.Memory = w.memory(s, shape)
	if msg.Memory != nil && !msg.Memory.Fits && msg.Error == "" && len(msg.Refused) == 0 {
		msg.Error = msg.Memory.Reason
	}
}
