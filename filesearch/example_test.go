package filesearch_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/quarrylabs/quarry/filesearch"
	"github.com/quarrylabs/quarry/store"
)

// Example shows one round of a model's tool loop: the definition for the
// model, the call it makes, and its answer's markers turned into
// citations.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "quarry-filesearch-example")
	defer os.RemoveAll(dir)
	db, err := store.Open(ctx, dir, store.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	vs, _ := db.CreateVectorStore(ctx, store.VectorStoreParams{Name: "handbook"})
	f, _ := vs.AddFile(ctx, store.FileInput{Name: "keys.md", Body: strings.NewReader("# API keys\n\nRotate production keys every ninety days.\n")})
	vs.WaitFile(ctx, f.ID)

	def, _ := json.Marshal(filesearch.Definition()) // goes in the request's "tools"
	fmt.Println(strings.Contains(string(def), `"name":"file_search"`))

	tool, err := filesearch.New(db, filesearch.Config{VectorStoreIDs: []string{vs.ID()}})
	if err != nil {
		log.Fatal(err)
	}
	// The model calls the tool; res.Text is the tool message it reads.
	res, err := tool.Call(ctx, `{"queries": ["key rotation", "how often rotate keys"]}`)
	if err != nil {
		log.Fatal(err) // a failed search, or *ArgumentsError for the model
	}
	fmt.Print(strings.SplitN(res.Text, "\n", 4)[2] + "\n")

	ans := tool.Cite("Production keys are rotated every ninety days [1].")
	c := ans.Citations[0]
	fmt.Println(ans.Text)
	fmt.Println(c.Index, c.Filename, c.Headings, c.CharStart, c.CharEnd)
	// Output:
	// true
	// [1] keys.md, API keys
	// Production keys are rotated every ninety days.
	// 45 keys.md [API keys] 0 54
}
