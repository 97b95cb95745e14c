package metrics

import "github.com/prometheus/client_golang/prometheus"

// Image data and work in flight.

var (
	imageBytes = counterVec("image", "bytes_total",
		"Image data received from clients (direction upload: uploads and stages) and sent to them (download).", "direction")
	uploadedBytes   = imageBytes.WithLabelValues("upload")
	downloadedBytes = imageBytes.WithLabelValues("download")

	uploadsInFlight     = gauge("image", "uploads_in_flight", "Image uploads and stages receiving data in this process.")
	imageTasksInFlight  = gauge("image", "tasks_in_flight", "Image imports and copies running in this process.")
	serverTasksInFlight = gauge("compute", "server_tasks_in_flight", "Server operations (boots, actions, deletes) running in this process.")
)

// ImageBytesUploaded counts n bytes of image data received from a client.
func ImageBytesUploaded(n int64) { uploadedBytes.Add(float64(n)) }

// ImageBytesDownloaded counts n bytes of image data sent to a client.
func ImageBytesDownloaded(n int64) { downloadedBytes.Add(float64(n)) }

// UploadRunning counts an upload or stage in flight until done is called:
// defer metrics.UploadRunning()().
func UploadRunning() (done func()) { return running(uploadsInFlight) }

// ImageTaskRunning counts an import or copy in flight until done is called.
func ImageTaskRunning() (done func()) { return running(imageTasksInFlight) }

// ServerTaskRunning counts a server's background operation until done is
// called.
func ServerTaskRunning() (done func()) { return running(serverTasksInFlight) }

func running(g prometheus.Gauge) func() {
	g.Inc()
	return g.Dec
}
