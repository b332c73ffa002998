"""The paper's cramming loop (hidden_capacity: train.py + model.py), written here from its
definition, for one text at batch 1 on a transformers model:

  inputs_embeds = cat(mem, embed(ids));  logits = model(inputs_embeds).logits[:, k:]
  loss = mean CE(logits[:-1], ids[1:]);  acc = mean(argmax(logits[:-1]) == ids[1:])
  AdamW(mem; lr, betas, weight_decay, eps), optionally under a transformers schedule (stepped
  after every update); the model frozen
  best = the first step with a strictly higher accuracy; stop at accuracy 1.0, or after
  `patience` steps without one, or after max_steps steps.

Step s records the loss and accuracy of the mem before update s (step 0: the initial mem)."""
import torch


def cram(model, ids, mem0, lr, betas, weight_decay, eps, max_steps, patience, schedule=None):
    """ids: [L] int64; mem0: [k, d] f32; schedule: None or a function of the optimizer that
    returns its LR scheduler. Returns dict(losses, accs, best_loss, best_acc, steps) where steps
    is the index of the last step taken."""
    for p in model.parameters():
        p.requires_grad_(False)
    k = mem0.shape[0]
    mem = torch.nn.Parameter(mem0.clone().float())
    opt = torch.optim.AdamW([mem], lr=lr, betas=betas, weight_decay=weight_decay, eps=eps)
    scheduler = schedule(opt) if schedule else None
    with torch.no_grad():
        text = model.get_input_embeddings()(ids[None])
    losses, accs = [], []
    best_loss, best_acc, since = float("inf"), 0.0, 0
    for step in range(max_steps):
        logits = model(inputs_embeds=torch.cat([mem[None].to(text.dtype), text], 1)).logits[:, k:]
        shift = logits[0, :-1].float()
        loss = torch.nn.functional.cross_entropy(shift, ids[1:])
        acc = (shift.argmax(-1) == ids[1:]).float().mean().item()
        loss.backward()
        opt.step()
        opt.zero_grad()
        if scheduler:
            scheduler.step()
        losses.append(loss.item())
        accs.append(acc)
        if best_acc < acc:
            best_loss, best_acc, since = loss.item(), acc, 0
        else:
            since += 1
        if best_acc == 1.0 or since >= patience:
            break
    return {"losses": losses, "accs": accs, "best_loss": best_loss, "best_acc": best_acc,
            "steps": len(losses) - 1}
