package main

func (r *outageRun) svg() []byte { return nil }
