// The Evals view's TreeDataProvider: run -> backend -> case -> trial -> failing criterion. The tree
// itself (children, parents, what each node shows) is nodes.ts's; this adapts it to TreeItems. A
// trial's click shows its session in the Session Explorer.

import * as vscode from "vscode";
import { describeEvalNode, evalChildren, evalParentId, type EvalNode } from "./nodes";
import type { EvalRunStore } from "./runs";

export const EVALS_VIEW_ID = "statecraft.evals";

export class EvalTreeProvider implements vscode.TreeDataProvider<EvalNode>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<EvalNode | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private readonly subscription: { dispose(): void };
  /** The latest node object per id, so that getParent returns what getChildren gave. */
  private readonly nodes = new Map<string, EvalNode>();

  constructor(private readonly store: EvalRunStore) {
    this.subscription = store.onDidChange(() => this.emitter.fire(undefined));
  }

  dispose(): void {
    this.subscription.dispose();
    this.emitter.dispose();
    this.rootFetched.dispose();
  }

  node(id: string): EvalNode | undefined {
    return this.nodes.get(id);
  }

  private readonly rootFetched = new vscode.EventEmitter<void>();

  getChildren(element?: EvalNode): EvalNode[] {
    const children = evalChildren(this.store, element);
    for (const c of children) this.nodes.set(c.id, c);
    if (!element) this.rootFetched.fire();
    return children;
  }

  /** Resolves the next time the top level is read (the view refreshed), or after `ms`. */
  nextRootFetch(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        once.dispose();
        resolve();
      };
      const once = this.rootFetched.event(done);
      const timer = setTimeout(done, ms);
    });
  }

  getParent(element: EvalNode): EvalNode | undefined {
    const id = evalParentId(element);
    return id === undefined ? undefined : this.nodes.get(id);
  }

  getTreeItem(element: EvalNode): vscode.TreeItem {
    const d = describeEvalNode(this.store, element);
    const leaf = element.kind === "info" || element.kind === "check";
    const state =
      leaf || (element.kind === "trial" && !evalChildren(this.store, element).length)
        ? vscode.TreeItemCollapsibleState.None
        : vscode.TreeItemCollapsibleState.Collapsed;
    const item = new vscode.TreeItem(d.label, state);
    item.id = element.id;
    item.description = d.description;
    item.tooltip = d.tooltip;
    item.iconPath = new vscode.ThemeIcon(d.icon, d.color ? new vscode.ThemeColor(d.color) : undefined);
    item.contextValue = `statecraft.eval.${element.kind}`;
    if (element.kind === "trial")
      item.command = { command: "statecraft.evals.openTrial", title: "Show Session", arguments: [element] };
    return item;
  }
}
