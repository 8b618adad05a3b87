"""Padding anchors for StreamingLoader's text batches, on the token ids the test wrote.

Usage: pad_reference.py INPUT.json OUTPUT.json

INPUT holds the documents' token ids, the pad id, and cases: a padding configuration and the batches the loader made
(each a list of document indices, in slot order). For each case and batch this writes

- "hf": the input_ids and attention_mask Hugging Face's DataCollatorWithPadding builds. Hugging Face transformers is not
  installable on these machines (PyPI is unreachable), so its rule is written here as its source does it
  (transformers 4.x, tokenization_utils_base.py): truncation happens when the text is tokenized
  (tokenizer(text, truncation=True, max_length=M) keeps ids[:M], or ids[-M:] with truncation_side="left"; one call
  that both truncates and pads refuses an M that is not a multiple of pad_to_multiple_of, but truncating when
  tokenizing and padding in the collator, the usual pipeline, does not); the collator then calls tokenizer.pad(features, padding, max_length,
  pad_to_multiple_of), where padding="longest" sets max_length to the batch's longest and pads to it, and _pad rounds
  max_length up to a multiple of pad_to_multiple_of, builds attention_mask = [1] * len(ids), and adds
  max_length - len(ids) pad ids and zeros on padding_side.
- "torch": torch.nn.utils.rnn.pad_sequence(batch_first=True, padding_value=pad) of the (truncated) sequences, for the
  cases it can express (right padding to the longest, no multiple), with the mask (arange(L) < lengths) beside it.
"""
import json
import sys

import torch
from torch.nn.utils.rnn import pad_sequence


def hf_truncate(ids, case):
    # PreTrainedTokenizerBase.truncate_sequences, TruncationStrategy.LONGEST_FIRST on a single sequence
    max_length = case["max_length"]
    if not case["truncation"] or len(ids) <= max_length:
        return ids
    remove = len(ids) - max_length
    return ids[:-remove] if case["truncation_side"] == "right" else ids[remove:]


def hf_pad(batch, case, pad_id):
    # PreTrainedTokenizerBase.pad: "longest" becomes "max_length" at the batch's longest; then _pad per example
    max_length = max(len(ids) for ids in batch) if case["padding"] == "longest" else case["max_length"]
    multiple = case["pad_to_multiple_of"]
    rows, masks = [], []
    for ids in batch:
        length = max_length
        if length is not None and multiple is not None and length % multiple != 0:
            length = ((length // multiple) + 1) * multiple
        mask = [1] * len(ids)
        difference = length - len(ids)
        if difference != 0:
            if case["padding_side"] == "right":
                mask = mask + [0] * difference
                ids = ids + [pad_id] * difference
            else:
                mask = [0] * difference + mask
                ids = [pad_id] * difference + ids
        rows.append(ids)
        masks.append(mask)
    return torch.tensor(rows, dtype=torch.int64), torch.tensor(masks, dtype=torch.int64)


def main():
    source, target = sys.argv[1], sys.argv[2]
    with open(source) as f:
        data = json.load(f)
    docs, pad_id = data["docs"], data["pad"]
    out = {"torch_version": torch.__version__, "cases": {}}
    for case in data["cases"]:
        result = {"hf": [], "torch": []}
        torch_applies = case["padding"] == "longest" and case["padding_side"] == "right" and case["pad_to_multiple_of"] is None
        for indices in case["batches"]:
            sequences = [hf_truncate(docs[i], case) for i in indices]
            ids, mask = hf_pad(sequences, case, pad_id)
            result["hf"].append({"ids": ids.tolist(), "mask": mask.tolist()})
            if torch_applies:
                padded = pad_sequence([torch.tensor(s, dtype=torch.int64) for s in sequences], batch_first=True, padding_value=pad_id)
                lengths = torch.tensor([len(s) for s in sequences])
                mask = (torch.arange(padded.shape[1])[None, :] < lengths[:, None]).to(torch.int64)
                result["torch"].append({"ids": padded.tolist(), "mask": mask.tolist()})
        out["cases"][case["name"]] = result
    with open(target, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
