package parse

import (
	"context"
	"encoding/xml"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// xlsxMaxCols is the widest sheet Excel allows (column XFD).
const xlsxMaxCols = 16384

func parseXLSX(ctx context.Context, za *zipArchive, main string, root *xnode) (*Document, error) {
	rels, err := za.readRels(ctx, main)
	if err != nil {
		return nil, err
	}
	byID := map[string]string{}
	var wb xlsxBook
	for _, r := range rels {
		if r.target == "" {
			continue
		}
		byID[r.id] = r.target
		// use takes the part's tree, for the first part of each kind.
		var use func(t *xnode)
		switch {
		case relType(r.typ, "sharedStrings") && wb.shared == nil:
			use = func(t *xnode) { wb.shared = sharedStrings(t) }
		case relType(r.typ, "styles") && wb.dateStyles == nil:
			use = func(t *xnode) { wb.dateStyles = dateStyles(t) }
		}
		if use != nil {
			t, err := za.readTree(ctx, r.target)
			if err != nil {
				return nil, err
			}
			use(t)
		}
	}
	switch root.child("workbookPr").attrOrEmpty("date1904") {
	case "1", "true":
		wb.date1904 = true
	}
	type sheet struct{ name, part string }
	var sheets []sheet
	for _, s := range root.child("sheets").kidsOrNil() {
		if s.name != "sheet" {
			continue
		}
		sheets = append(sheets, sheet{s.attr("name"), byID[s.rattr("id")]})
	}
	if len(sheets) > za.o.MaxPages {
		return nil, invalid(za.name, nil, "workbook has %d sheets, more than the limit of %d", len(sheets), za.o.MaxPages)
	}
	var b builder
	b.setLimit(za.o)
	seen := map[string]bool{}
	for i, sh := range sheets {
		if sh.part == "" || !za.has(sh.part) || seen[sh.part] {
			continue // a sheet listed twice would multiply its text
		}
		seen[sh.part] = true
		data, err := za.read(ctx, sh.part)
		if err != nil {
			return nil, err
		}
		text, header, err := sheetText(ctx, za.name, data, &wb, za.o, za.o.MaxDecompressedBytes-int64(b.len()))
		if err != nil {
			return nil, err
		}
		b.add(text, Section{Kind: Table, Page: i + 1, PageLabel: sh.name, Header: header})
	}
	return b.document("xlsx", len(sheets)), nil
}

// sharedStrings reads the shared string table: each item's text runs,
// without phonetic guides.
func sharedStrings(root *xnode) []string {
	if root == nil {
		return nil
	}
	var out []string
	for _, si := range root.kids {
		if si.name != "si" {
			continue
		}
		var sb strings.Builder
		var walk func(n *xnode)
		walk = func(n *xnode) {
			for _, k := range n.kids {
				switch k.name {
				case "t":
					sb.WriteString(k.text)
				case "rPh", "phoneticPr", "rPr":
				default:
					walk(k)
				}
			}
		}
		walk(si)
		out = append(out, sb.String())
	}
	return out
}

// xlsxCell is one non-empty cell of a row.
type xlsxCell struct {
	col int
	val string
}

// sheetText streams a worksheet and renders it with officeTable's layout:
// the first row with two or more cells is the header, every later row is
// written against it.
//
// Shared strings let a small sheet name a long string many times, so the
// text is capped at budget bytes.
func sheetText(ctx context.Context, name string, data []byte, wb *xlsxBook, o *Options, budget int64) (text, header string, err error) {
	s := newXMLStream(ctx, name, data, o)
	var (
		sb         strings.Builder
		hdr        []string // header cells by column; nil until the header row
		row        []xlsxCell
		inSheet    bool
		col, next  int
		typ        string
		val        strings.Builder
		inV, inIS  bool
		inT, inRPh int
		rowBytes   int // an upper bound on the current row's text
		style      int // the cell's style index
	)
	flushRow := func() {
		if len(row) == 0 {
			return
		}
		if hdr == nil && len(row) == 1 {
			// A lone cell above the header is a title, not a header.
			sb.WriteString(row[0].val)
			sb.WriteByte('\n')
		} else if hdr == nil {
			hdr = []string{}
			for _, c := range row {
				for len(hdr) <= c.col {
					hdr = append(hdr, "")
				}
				hdr[c.col] = c.val
			}
			header = officeJoin(hdr)
			sb.WriteString(header)
			sb.WriteByte('\n')
		} else {
			cells := make([]string, 0, len(row))
			for _, c := range row {
				v := c.val
				if c.col < len(hdr) && officeLabel(hdr[c.col], v) {
					v = hdr[c.col] + ": " + v
				}
				cells = append(cells, v)
			}
			sb.WriteString(strings.Join(cells, " | "))
			sb.WriteByte('\n')
		}
		row, rowBytes = row[:0], 0
	}
	for {
		tok, err := s.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", "", err
		}
		if int64(sb.Len()) > budget {
			return "", "", invalid(name, nil, "spreadsheet text is longer than the %d-byte limit", o.MaxDecompressedBytes)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "sheetData":
				inSheet = true
			case "row":
				row, next = row[:0], 0
			case "c":
				typ, col, style = "", next, 0
				val.Reset()
				for _, a := range t.Attr {
					switch a.Name.Local {
					case "t":
						typ = a.Value
					case "s":
						style, _ = strconv.Atoi(a.Value)
					case "r":
						if c, ok := columnIndex(a.Value); ok {
							col = c
						}
					}
				}
				next = col + 1
			case "v":
				inV = true
			case "is":
				inIS = true
			case "t":
				inT++
			case "rPh":
				inRPh++
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "sheetData":
				inSheet = false
			case "row":
				if inSheet {
					flushRow()
				}
			case "c":
				if !inSheet {
					break
				}
				if v := officeCell(wb.cellValue(typ, val.String(), style)); v != "" && col < xlsxMaxCols {
					row = append(row, xlsxCell{col, v})
					rowBytes += len(v) + maxLabel + 5
					if int64(sb.Len()+rowBytes) > budget {
						return "", "", invalid(name, nil, "spreadsheet text is longer than the %d-byte limit", o.MaxDecompressedBytes)
					}
				}
			case "v":
				inV = false
			case "is":
				inIS = false
			case "t":
				inT--
			case "rPh":
				inRPh--
			}
		case xml.CharData:
			if inV || (inIS && inT > 0 && inRPh == 0) {
				if val.Len()+len(t) > 1<<20 {
					return "", "", invalid(name, nil, "spreadsheet cell longer than 1 MiB")
				}
				val.Write(t)
			}
		}
	}
	if sb.Len() == 0 {
		return "", "", nil
	}
	sb.WriteByte('\n')
	return sb.String(), header, nil
}

// xlsxBook is what cells need of their workbook.
type xlsxBook struct {
	shared     []string
	dateStyles []bool // by cell style index: the number format shows a date or time
	date1904   bool
}

// cellValue formats a cell's raw value by its type attribute and style.
func (wb *xlsxBook) cellValue(typ, raw string, style int) string {
	switch typ {
	case "s":
		i, err := strconv.Atoi(strings.TrimSpace(raw))
		if err != nil || i < 0 || i >= len(wb.shared) {
			return ""
		}
		return wb.shared[i]
	case "b":
		switch strings.TrimSpace(raw) {
		case "1":
			return "TRUE"
		case "0":
			return "FALSE"
		}
		return raw
	case "", "n":
		f, err := strconv.ParseFloat(strings.TrimSpace(raw), 64)
		if err != nil {
			return raw
		}
		if style >= 0 && style < len(wb.dateStyles) && wb.dateStyles[style] {
			if d, ok := excelDate(f, wb.date1904); ok {
				return d
			}
		}
		// Print what Excel shows for binary noise like 0.30000000000000004.
		return strconv.FormatFloat(f, 'g', 15, 64)
	}
	return raw // str, inlineStr, e, d
}

// excelDate formats a date serial number as ISO 8601: a date, a time of day
// (serials below 1) or both.
func excelDate(f float64, date1904 bool) (string, bool) {
	if f < 0 || f >= 2958466 || math.IsNaN(f) { // after 9999-12-31
		return "", false
	}
	base := time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)
	if date1904 {
		base = time.Date(1904, 1, 1, 0, 0, 0, 0, time.UTC)
	} else if f < 61 {
		base = base.AddDate(0, 0, 1) // Excel's phantom 1900-02-29
	}
	days := math.Floor(f)
	secs := math.Round((f - days) * 86400)
	t := base.AddDate(0, 0, int(days)).Add(time.Duration(secs) * time.Second)
	switch {
	case f < 1 && !date1904:
		return t.Format("15:04:05"), true
	case secs == 0:
		return t.Format("2006-01-02"), true
	}
	return t.Format("2006-01-02 15:04:05"), true
}

// dateStyles reads styles.xml: for each cell format (cellXfs), whether its
// number format is a date or time.
func dateStyles(root *xnode) []bool {
	if root == nil {
		return nil
	}
	custom := map[int]bool{}
	for _, nf := range root.child("numFmts").kidsOrNil() {
		if id, err := strconv.Atoi(nf.attr("numFmtId")); err == nil {
			custom[id] = dateFormat(nf.attr("formatCode"))
		}
	}
	var out []bool
	for _, xf := range root.child("cellXfs").kidsOrNil() {
		if xf.name != "xf" {
			continue
		}
		id, _ := strconv.Atoi(xf.attr("numFmtId"))
		isDate, ok := custom[id]
		if !ok {
			// Built-in date and time formats ([ECMA-376] 18.8.30).
			isDate = (id >= 14 && id <= 22) || (id >= 27 && id <= 36) || (id >= 45 && id <= 47) || (id >= 50 && id <= 58)
		}
		out = append(out, isDate)
	}
	return out
}

// dateFormat reports whether a number format code shows a date or time:
// it has y, m, d, h or s outside quotes, escapes and [brackets].
func dateFormat(code string) bool {
	inQuote, inBracket := false, false
	for i := 0; i < len(code); i++ {
		c := code[i]
		switch {
		case inQuote:
			inQuote = c != '"'
		case inBracket:
			inBracket = c != ']'
		case c == '"':
			inQuote = true
		case c == '[':
			inBracket = true
		case c == '\\' || c == '_' || c == '*':
			i++ // the next character is literal or padding
		case strings.IndexByte("ymdhsYMDHS", c) >= 0:
			return true
		}
	}
	return false
}

// columnIndex returns the 0-based column of a cell reference like "AB12".
func columnIndex(ref string) (int, bool) {
	c := 0
	i := 0
	for ; i < len(ref) && i < 3; i++ {
		ch := ref[i]
		switch {
		case ch >= 'A' && ch <= 'Z':
			c = c*26 + int(ch-'A') + 1
		case ch >= 'a' && ch <= 'z':
			c = c*26 + int(ch-'a') + 1
		default:
			if i == 0 {
				return 0, false
			}
			return c - 1, true
		}
	}
	if i == 0 || (i < len(ref) && ref[i] >= 'A') {
		return 0, false
	}
	return c - 1, true
}
