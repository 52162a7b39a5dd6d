// The Session Explorer's TreeDataProvider: source -> session -> turn ->
// Context / Memory snapshots and events. The tree itself (children, parents,
// what each node shows) is nodes.ts's; this adapts it to TreeItems. Elements
// are the light NodeData objects of nodes.ts with stable ids, so refreshes
// keep expansion and selection and `reveal` works through getParent.

import * as vscode from "vscode";
import { childrenOf, describeNode, parentId, type NodeData } from "./nodes";
import { snapshotUri } from "./snapshots";
import type { SessionStore } from "./store";

export const VIEW_ID = "statecraft.sessions";

export class SessionTreeProvider implements vscode.TreeDataProvider<NodeData>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<NodeData | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private readonly subscription: { dispose(): void };
  /** The latest node object per id, so that getParent returns what getChildren gave. */
  private readonly nodes = new Map<string, NodeData>();

  constructor(private readonly store: SessionStore) {
    this.subscription = store.onDidChange(() => this.emitter.fire(undefined));
  }

  dispose(): void {
    this.subscription.dispose();
    this.emitter.dispose();
  }

  node(id: string): NodeData | undefined {
    return this.nodes.get(id);
  }

  async getChildren(element?: NodeData): Promise<NodeData[]> {
    const children = await childrenOf(this.store, element);
    for (const c of children) this.nodes.set(c.id, c);
    return children;
  }

  getParent(element: NodeData): NodeData | undefined {
    const id = parentId(element);
    return id === undefined ? undefined : this.nodes.get(id);
  }

  async getTreeItem(element: NodeData): Promise<vscode.TreeItem> {
    const d = await describeNode(this.store, element);
    // A model call with reasoning has it as a collapsed child.
    const item = new vscode.TreeItem(
      d.label,
      element.kind === "event" && (await childrenOf(this.store, element)).length
        ? vscode.TreeItemCollapsibleState.Collapsed
        : COLLAPSIBLE[element.kind],
    );
    item.id = element.id;
    item.description = d.description;
    item.tooltip = d.tooltip;
    item.iconPath = new vscode.ThemeIcon(d.icon, d.color ? new vscode.ThemeColor(d.color) : undefined);
    switch (element.kind) {
      case "source":
      case "session":
        item.contextValue = `statecraft.${element.kind}.${this.store.source(element.sourceId)?.kind ?? "folder"}`;
        break;
      case "tests":
      case "evals":
        item.contextValue = `statecraft.${element.kind}`;
        break;
      case "check":
        item.contextValue = "statecraft.check";
        break;
      case "turn":
        item.contextValue = "statecraft.turn";
        break;
      case "snapshot":
        item.contextValue = `statecraft.snapshot.${element.which}`;
        item.command = {
          command: "statecraft.sessions.openSnapshot",
          title: "Open Snapshot",
          arguments: [element],
        };
        item.resourceUri = snapshotUri(element, element.which);
        break;
      case "event": {
        const e = (await this.store.model(element))
          ?.turn(element.turn)
          ?.events.find((x) => x.seq === element.seq);
        item.contextValue = `statecraft.event.${e?.type ?? "unknown"}`;
        item.command = {
          command: "statecraft.sessions.openEvent",
          title: "Open Event",
          arguments: [element],
        };
        break;
      }
    }
    return item;
  }
}

const COLLAPSIBLE: Record<NodeData["kind"], vscode.TreeItemCollapsibleState> = {
  source: vscode.TreeItemCollapsibleState.Expanded,
  tests: vscode.TreeItemCollapsibleState.Collapsed,
  evals: vscode.TreeItemCollapsibleState.Collapsed,
  check: vscode.TreeItemCollapsibleState.None,
  session: vscode.TreeItemCollapsibleState.Collapsed,
  turn: vscode.TreeItemCollapsibleState.Collapsed,
  snapshot: vscode.TreeItemCollapsibleState.None,
  event: vscode.TreeItemCollapsibleState.None,
  info: vscode.TreeItemCollapsibleState.None,
};
