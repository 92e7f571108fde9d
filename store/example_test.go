package store_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/quarrylabs/quarry/store"
)

func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "quarry-example")
	defer os.RemoveAll(dir)

	db, err := store.Open(ctx, dir, store.Options{}) // offline defaults
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	vs, err := db.CreateVectorStore(ctx, store.VectorStoreParams{Name: "handbook"})
	if err != nil {
		log.Fatal(err)
	}
	f, err := vs.AddFile(ctx, store.FileInput{
		Name:       "keys.md",
		Body:       strings.NewReader("# API keys\n\nRotate production keys every ninety days.\n"),
		Attributes: map[string]any{"team": "security"},
	})
	if err != nil {
		log.Fatal(err)
	}
	if f, err = vs.WaitFile(ctx, f.ID); err != nil {
		log.Fatal(err)
	}
	fmt.Println(f.Status)
	res, err := vs.Search(ctx, store.SearchRequest{Query: []string{"how often do keys rotate?"}, MaxResults: 3})
	if err != nil {
		log.Fatal(err)
	}
	top := res.Data[0]
	fmt.Println(top.Filename, top.Content[0].Headings)
	// Output:
	// completed
	// keys.md [API keys]
}
