package server

import (
	"net/http"
)

// backup answers GET /backup: the stream of store.DB.Backup, a consistent
// snapshot of the DB taken while it keeps serving ('quarry backup
// --server'). An error before the first byte is answered in the API's
// shape; one midway aborts the connection, so the client sees a truncated
// stream, which store.Restore rejects.
func (s *server) backup(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/x-tar")
	w.Header().Set("Content-Disposition", `attachment; filename="quarry-backup.tar"`)
	cw := &statusWriter{ResponseWriter: w} // status stays 0 until the first byte
	err := s.db.Backup(r.Context(), cw)
	if err == nil {
		return
	}
	if cw.status == 0 {
		w.Header().Del("Content-Disposition")
		s.fail(w, r, err)
		return
	}
	s.log.Error("backup failed midway", "request_id", requestID(r.Context()), "err", err)
	panic(http.ErrAbortHandler)
}
