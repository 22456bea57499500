/**
 * The attribute routes (ODYSSEY_API §2.6) and the plugin list (§2.8). Registration order matters where
 * two paths share a shape: a route that fails validation answers 400 rather than letting the next one try.
 *   /objects/{id}/all-users/attributes  before  /objects/{id}/{userID}/attributes
 *   /users/me/attributes                before  /users/{userID}/attributes
 */
import type { ApiComponents } from '../env.ts';
import { routes } from '../validation.ts';
import { FAMILIES, familyRoutes } from './attributes-families.ts';
import { readRoutes } from './attributes-reads.ts';

export function attributeRoutes(c: ApiComponents) {
  const app = routes();
  readRoutes(app, c);
  for (const family of [
    FAMILIES.node,
    FAMILIES.object,
    FAMILIES.objectUser,
    FAMILIES.me,
    FAMILIES.user,
    FAMILIES.userUser,
  ]) {
    familyRoutes(app, c, family);
  }
  return app;
}
